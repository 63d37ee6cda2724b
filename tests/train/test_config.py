"""Configs: presets, dotted overrides, type checks and clear errors."""

import pytest

from augrnn.models import build_model
from augrnn.tasks import get_task_class
from augrnn.tasks.copy import CopyConfig
from augrnn.tasks.ngrams import NGramsConfig
from augrnn.train.config import (
    Config,
    ConfigError,
    apply_overrides,
    config_from_dict,
    load_preset,
    parse_override_args,
    preset_names,
)

EXPECTED_PRESETS = {
    "demo",
    "copy",
    "repeat_copy",
    "associative_recall",
    "ngrams",
    "priority_sort",
    "copy_lstm",
    "parity",
    "parity_rnn",
    "parity_pondernet",
    "parity_extrapolation_act",
    "parity_extrapolation_pondernet",
    "logic",
    "logic_lstm",
    "logic_pondernet",
    "addition",
    "addition_lstm",
    "addition_pondernet",
    "sort",
    "sort_lstm",
    "sort_pondernet",
    "copy_act",
    "dates",
    "dates_noattention",
    "reversal",
    "reversal_noattention",
    "symbol_sort",
    "written_addition",
    "digit_row",
    "digit_row_noattention",
}


def test_every_preset_loads_and_the_paper_ones_exist():
    names = set(preset_names())
    assert names >= EXPECTED_PRESETS
    for name in names:
        config = load_preset(name)
        assert isinstance(config, Config)
        assert config.preset == name


def test_every_preset_builds_its_model():
    for name in preset_names():
        config = load_preset(name)
        task = get_task_class(config.task_name)(config.task)
        model = build_model(config.model, task.input_size, task.output_size, config.act)
        assert sum(p.numel() for p in model.parameters()) > 0, name


def test_act_presets_have_the_papers_settings():
    parity = load_preset("parity")
    assert (parity.model.kind, parity.model.hidden_size, parity.train.batch_size) == (
        "rnn",
        128,
        128,
    )
    assert (parity.act.halting, parity.act.epsilon, parity.act.max_steps) == ("act", 0.01, 100)
    assert parity.act.halting_bias == 1.0 and parity.optim.lr == 1e-4
    assert load_preset("parity_rnn").act.halting == "none"
    pondernet = load_preset("parity_pondernet")
    assert (pondernet.act.halting, pondernet.act.max_steps) == ("pondernet", 20)
    assert (pondernet.act.beta, pondernet.act.epsilon, pondernet.optim.lr) == (0.01, 0.05, 3e-4)
    extrapolation = load_preset("parity_extrapolation_act").task
    assert (extrapolation.size, extrapolation.max_nonzero) == (96, 48)
    addition = load_preset("addition")
    assert (addition.model.hidden_size, addition.act.max_steps, addition.train.batch_size) == (
        512,
        20,
        32,
    )


def test_copy_preset_has_the_paper_settings():
    config = load_preset("copy")
    assert config.task_name == "copy" and config.task == CopyConfig(8, 1, 20)
    assert (config.model.controller_size, config.model.memory_slots) == (100, 128)
    assert (config.optim.name, config.optim.lr, config.optim.momentum) == ("rmsprop", 1e-4, 0.9)
    assert config.optim.clip_value == 10.0


def test_overrides_are_parsed_with_the_field_types():
    config = load_preset(
        "copy",
        parse_override_args(
            [
                "--train.batch_size=32",
                "--optim.lr=3e-4",
                "--optim.clip_value=none",
                "--train.tensorboard=false",
                "--task.max_length=30",
                "--model.memory_init=learned",
            ]
        ),
    )
    assert config.train.batch_size == 32
    assert config.optim.lr == pytest.approx(3e-4)
    assert config.optim.clip_value is None
    assert config.train.tensorboard is False
    assert config.task.max_length == 30
    assert config.model.memory_init == "learned"


def test_unknown_key_lists_the_valid_keys():
    with pytest.raises(ConfigError) as err:
        load_preset("copy", {"train.stepz": "3"})
    assert "train.stepz" in str(err.value)
    assert "train.steps" in str(err.value) and "task.max_length" in str(err.value)
    with pytest.raises(ConfigError, match="valid keys"):
        load_preset("copy", {"nosection": "3"})


def test_wrong_types_are_errors():
    with pytest.raises(ConfigError, match="'train.batch_size' expects int"):
        load_preset("copy", {"train.batch_size": "lots"})
    with pytest.raises(ConfigError, match="expects int"):
        config_from_dict({"train": {"steps": 1.5}})
    with pytest.raises(ConfigError, match="expects bool"):
        config_from_dict({"train": {"tensorboard": 1}})
    with pytest.raises(ConfigError, match="unknown config section"):
        config_from_dict({"training": {}})


def test_task_name_override_switches_the_task_settings():
    config = load_preset("copy", {"task.name": "ngrams", "task.order": "4"})
    assert config.task_name == "ngrams"
    assert config.task == NGramsConfig(order=4)
    with pytest.raises(ConfigError, match="unknown task 'sorting'"):
        load_preset("copy", {"task.name": "sorting"})


def test_invalid_task_settings_fail_when_loaded():
    with pytest.raises(ConfigError, match=r"\[task\]"):
        load_preset("copy", {"task.min_length": "30"})


def test_unknown_preset_and_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="unknown preset 'copi'; presets are: .*copy"):
        load_preset("copi")
    with pytest.raises(ConfigError, match="no preset file"):
        load_preset(str(tmp_path / "missing.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nsteps = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_preset(str(bad))
    good = tmp_path / "mine.toml"
    good.write_text('[task]\nname = "copy"\nmax_length = 5\n[train]\nsteps = 7\n')
    config = load_preset(str(good))
    assert (config.preset, config.task.max_length, config.train.steps) == ("mine", 5, 7)


def test_override_syntax_errors():
    with pytest.raises(ConfigError, match="--section.key=value"):
        parse_override_args(["train.steps=3"])
    with pytest.raises(ConfigError, match="--section.key=value"):
        parse_override_args(["--train.steps"])


def test_round_trip_through_a_dict():
    config = load_preset("priority_sort", {"train.seed": "5"})
    again = config_from_dict(config.to_dict())
    assert again == config
    # applying no overrides leaves a saved config unchanged
    assert config_from_dict(apply_overrides(config.to_dict(), {})) == config
