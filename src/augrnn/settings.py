"""Valid ranges of numeric settings, declared once per config class and checked when it is made.

Every config dataclass (a task's, a model kind's, the optimiser's and the training loop's) names
the range of each of its numeric fields in a class attribute ``RANGES`` (field name ->
:class:`Range`) and calls :func:`check_settings` from ``__post_init__``; the bases
:class:`~augrnn.tasks.base.TaskConfig` and :class:`~augrnn.interface.ModelConfig` do so for their
subclasses. A setting out of its range, a non-integer where an integer is expected, a boolean
or a string for a number, or a NaN, is a ``ValueError`` that names the setting, its range and
the value given::

    steps must be an integer >= 1, got -5
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import types
import typing
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Range:
    """A closed, open or half-open interval; a missing bound is unbounded."""

    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True

    def __contains__(self, value: float) -> bool:
        if self.low is not None and (
            value < self.low or (value == self.low and not self.low_inclusive)
        ):
            return False
        return self.high is None or not (
            value > self.high or (value == self.high and not self.high_inclusive)
        )

    def __str__(self) -> str:
        if self.low is not None and self.high is not None:
            left = "[" if self.low_inclusive else "("
            right = "]" if self.high_inclusive else ")"
            return f"in {left}{_number(self.low)}, {_number(self.high)}{right}"
        if self.low is not None:
            return f"{'>=' if self.low_inclusive else '>'} {_number(self.low)}"
        if self.high is not None:
            return f"{'<=' if self.high_inclusive else '<'} {_number(self.high)}"
        return "any value"


def _number(value: float) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return f"{value:_}" if abs(value) >= 10**6 else str(value)


def at_least(low: float) -> Range:
    """[low, ∞)."""
    return Range(low=low)


def above(low: float) -> Range:
    """(low, ∞)."""
    return Range(low=low, low_inclusive=False)


def between(
    low: float, high: float, *, low_inclusive: bool = True, high_inclusive: bool = True
) -> Range:
    """[low, high], or open at either end."""
    return Range(low, high, low_inclusive, high_inclusive)


#: Any finite number (a bias, a seed offset): only the type and finiteness are checked.
ANY = Range()
#: Seeds: torch's generators take integers in [0, 2^63).
SEED = between(0, 2**63 - 1)


def check_integers(who: str, **values: Any) -> None:
    """Raise ``ValueError`` naming ``who`` for the first of ``values`` (sizes and counts given to
    a constructor or a sampler) that is not an integer, such as 2.5 or True; None passes."""
    for name, value in values.items():
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, numbers.Integral)
        ):
            raise ValueError(f"{who} needs an integer {name}, got {value!r}")


def check_sizes(who: str, **sizes: Any) -> None:
    """Raise ``ValueError`` naming ``who`` for the first of ``sizes`` (a constructor's widths and
    counts) that is not an integer (:func:`check_integers`) or is below 1; None passes."""
    check_integers(who, **sizes)
    for name, value in sizes.items():
        if value is not None and value < 1:
            raise ValueError(f"{who} needs {name} >= 1, got {value}")


def numeric_types(tp: Any) -> tuple[type, ...]:
    """The numeric types (int, float) that a field annotation admits."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        return tuple(t for arg in typing.get_args(tp) for t in numeric_types(arg))
    return (tp,) if tp in (int, float) else ()


def numeric_fields(config_class: type) -> list[str]:
    """The fields of a config dataclass that hold numbers, each of which needs a range."""
    hints = typing.get_type_hints(config_class)
    return [f.name for f in dataclasses.fields(config_class) if numeric_types(hints[f.name])]


def check_settings(config: Any) -> None:
    """Raise ``ValueError`` for the first numeric field of ``config`` (a dataclass instance) that
    is not a number of its type within its ``RANGES`` entry. None passes (an unset optional
    setting); a field without an entry is checked for its type only."""
    config_class = type(config)
    hints = typing.get_type_hints(config_class)
    ranges: dict[str, Range] = getattr(config_class, "RANGES", {})
    for f in dataclasses.fields(config_class):
        allowed = numeric_types(hints[f.name])
        value = getattr(config, f.name)
        if not allowed or value is None:
            continue
        integer = float not in allowed
        what = "an integer" if integer else "a number"
        valid = isinstance(value, (int, float)) and not isinstance(value, bool)
        if valid and integer and not isinstance(value, int):
            valid = False
        if not valid or (isinstance(value, float) and math.isnan(value)):
            raise ValueError(f"{f.name} must be {what}, got {value!r}")
        bounds = ranges.get(f.name, ANY)
        infinite = isinstance(value, float) and math.isinf(value)
        if value not in bounds or infinite:
            limit = "" if bounds is ANY else f" {bounds}"
            if infinite:
                what = "a finite number"
            raise ValueError(f"{f.name} must be {what}{limit}, got {value!r}")
