"""Valid ranges of numeric settings: the intervals, the checks and their messages, and that every
registered config class declares a range for each of its numeric fields."""

import dataclasses
import math

import pytest

from augrnn.registry import models, tasks
from augrnn.settings import (
    ANY,
    SEED,
    Range,
    above,
    at_least,
    between,
    check_integers,
    check_settings,
    numeric_fields,
)
from augrnn.train.config import OptimConfig, TrainConfig


def test_intervals_hold_their_bounds_as_declared():
    assert 1 in at_least(1) and 0 not in at_least(1)
    assert 0 not in above(0) and 1e-12 in above(0)
    unit_open = between(0, 1, low_inclusive=False, high_inclusive=False)
    assert 0 not in unit_open and 1 not in unit_open and 0.5 in unit_open
    assert 1 in between(0, 1) and -1e9 in ANY
    assert 2**63 - 1 in SEED and -1 not in SEED
    assert [str(r) for r in (at_least(1), above(0), unit_open, between(0, 1), Range(high=5))] == [
        ">= 1",
        "> 0",
        "in (0, 1)",
        "in [0, 1]",
        "<= 5",
    ]


@dataclasses.dataclass
class _Toy:
    size: int = 4
    rate: float = 0.5
    limit: float | None = None
    name: str = "x"
    RANGES = {"size": at_least(1), "rate": between(0, 1), "limit": above(0)}


@pytest.mark.parametrize(
    "values, message",
    [
        ({"size": 0}, "size must be an integer >= 1, got 0"),
        ({"size": 2.5}, "size must be an integer, got 2.5"),
        ({"size": True}, "size must be an integer, got True"),
        ({"size": "4"}, "size must be an integer, got '4'"),
        ({"rate": 1.5}, r"rate must be a number in \[0, 1\], got 1.5"),
        ({"rate": math.nan}, "rate must be a number, got nan"),
        ({"limit": 0.0}, "limit must be a number > 0, got 0.0"),
        ({"limit": math.inf}, "limit must be a finite number > 0, got inf"),
    ],
)
def test_a_setting_out_of_range_or_of_the_wrong_type_names_itself_and_its_range(values, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        check_settings(_Toy(**values))


def test_unset_optional_settings_and_settings_in_range_pass():
    check_settings(_Toy(size=1, rate=0, limit=None))
    check_settings(_Toy(rate=1))  # an int where a float is expected


def _config_classes():
    classes = {OptimConfig, TrainConfig}
    classes |= {kind.config_class for _, kind in models.items()}
    classes |= {task.config_class for _, task in tasks.items()}
    return sorted(classes, key=lambda c: c.__name__)


@pytest.mark.parametrize("config_class", _config_classes(), ids=lambda c: c.__name__)
def test_every_numeric_setting_of_every_config_has_a_range(config_class):
    missing = sorted(set(numeric_fields(config_class)) - set(config_class.RANGES))
    assert not missing, f"{config_class.__name__} has no range for {missing}"
    assert set(config_class.RANGES) <= set(numeric_fields(config_class))


@pytest.mark.parametrize("config_class", _config_classes(), ids=lambda c: c.__name__)
def test_every_config_checks_its_ranges_when_made(config_class):
    name = numeric_fields(config_class)[0]
    kwargs = {}
    if any(f.name == "core" for f in dataclasses.fields(config_class)):
        kwargs["core"] = models.get("lstm").config_class()
    with pytest.raises(ValueError, match=f"{name} must be"):
        config_class(**kwargs, **{name: "not a number"})


def test_check_integers_refuses_non_integer_sizes_naming_them():
    import numpy as np

    check_integers("X", size=3, count=np.int64(2), missing=None)
    for value in (2.5, 2.0, True, "3"):
        with pytest.raises(ValueError, match=f"X needs an integer size, got {value!r}"):
            check_integers("X", size=value)
