"""Configs: presets, dotted overrides, type checks and clear errors."""

import pytest

from augrnn.act import ACTConfig
from augrnn.controllers import LSTMConfig, RNNConfig
from augrnn.memory.ntm import NTMConfig
from augrnn.programmer import NeuralProgrammerConfig
from augrnn.registry import build_model, task_class
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
    upgrade_legacy,
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
    "reversal_location",
    "associative_recall_dnc_fast",
    "symbol_sort",
    "written_addition",
    "digit_row",
    "digit_row_noattention",
    "nram_permutation",
    "nram_listk",
    "nram_listsearch",
    "nram_merge",
    "nram_walkbst",
    "rl_ntm_reverse_direct",
    "rl_ntm_forward_reverse_direct",
    "rl_ntm_repeat_copy_direct",
    "babi_dnc_cpu",
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
        task = task_class(config.task_name)(config.task)
        model = build_model(config.model, task.input_size, task.output_size)
        assert sum(p.numel() for p in model.parameters()) > 0, name


def test_act_presets_have_the_papers_settings():
    parity = load_preset("parity")
    assert isinstance(parity.model, ACTConfig) and isinstance(parity.model.core, RNNConfig)
    assert (parity.model.core.hidden_size, parity.train.batch_size) == (128, 128)
    assert (parity.model.halting, parity.model.epsilon, parity.model.max_steps) == (
        "act",
        0.01,
        100,
    )
    assert parity.model.halting_bias == 1.0 and parity.optim.lr == 1e-4
    assert isinstance(load_preset("parity_rnn").model, RNNConfig)
    pondernet = load_preset("parity_pondernet").model
    assert (pondernet.halting, pondernet.max_steps) == ("pondernet", 20)
    assert (pondernet.beta, pondernet.epsilon) == (0.01, 0.05)
    extrapolation = load_preset("parity_extrapolation_act").task
    assert (extrapolation.size, extrapolation.max_nonzero) == (96, 48)
    addition = load_preset("addition")
    assert (addition.model.core.hidden_size, addition.model.max_steps) == (512, 20)
    assert addition.train.batch_size == 32


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


# --- model kinds ---------------------------------------------------------------------------------


def test_the_model_kind_picks_the_config_class_and_its_defaults():
    assert isinstance(load_preset("copy").model, NTMConfig)
    assert isinstance(load_preset("copy_lstm").model, LSTMConfig)
    assert isinstance(config_from_dict({}).model, NTMConfig)  # the default kind
    programmer = load_preset("table_qa_single").model
    assert isinstance(programmer, NeuralProgrammerConfig) and programmer.steps == 4


def test_an_unknown_kind_lists_the_registered_kinds():
    expected = "unknown model kind 'dnk'; known model kinds: act, ctc, dmn, dnc, gru"
    with pytest.raises(ConfigError, match=expected):
        load_preset("copy", {"model.kind": "dnk"})
    with pytest.raises(ConfigError, match="known model kinds: .*ntm.*programmer"):
        config_from_dict({"model": {"kind": "dnk"}})


def test_a_key_the_kind_does_not_have_lists_the_kinds_keys():
    # `augrnn train copy --model.program_search=1000` no longer trains an NTM without a word
    with pytest.raises(ConfigError) as err:
        load_preset("copy", {"model.program_search": "1000"})
    message = str(err.value)
    assert "'model.program_search'" in message and "model kind 'ntm'" in message
    assert "model.memory_slots" in message and "model.steps" not in message
    with pytest.raises(ConfigError, match="model kind 'lstm' has the keys"):
        config_from_dict({"model": {"kind": "lstm", "memory_slots": 4}})
    with pytest.raises(ConfigError, match=r"model.program_steps is now model.steps"):
        load_preset("table_qa_single", {"model.program_steps": "3"})


def test_the_act_section_is_gone_with_a_pointer_to_the_act_kind():
    with pytest.raises(ConfigError, match="--model.kind=act"):
        load_preset("parity_rnn", {"act.tau": "0.1"})


def test_a_nested_core_is_reached_by_its_path_and_checked_for_its_kind():
    config = load_preset("parity", {"model.core.hidden_size": "64", "model.tau": "0.01"})
    assert config.model.core.hidden_size == 64 and config.model.tau == 0.01
    with pytest.raises(ConfigError, match="model kind 'rnn' has the keys"):
        load_preset("parity", {"model.core.memory_slots": "4"})
    with pytest.raises(ConfigError, match=r"\[model.core\]: model kind 'programmer' is not a"):
        load_preset("parity", {"model.core.kind": "programmer"})
    swapped = load_preset("parity", {"model.core.kind": "ntm", "model.core.memory_slots": "16"})
    assert isinstance(swapped.model.core, NTMConfig) and swapped.model.core.memory_slots == 16
    with pytest.raises(ConfigError, match="ACT needs the core it wraps"):
        config_from_dict({"model": {"kind": "act"}})


def test_switching_to_a_wrapper_wraps_the_model_and_to_another_kind_starts_afresh():
    wrapped = load_preset("parity_rnn", {"model.kind": "act", "model.max_steps": "5"})
    assert isinstance(wrapped.model, ACTConfig) and wrapped.model.max_steps == 5
    assert wrapped.model.core == load_preset("parity_rnn").model
    fresh = load_preset("parity", {"model.kind": "lstm", "model.hidden_size": "8"})
    assert fresh.model == LSTMConfig(hidden_size=8)


def test_a_round_trip_keeps_nested_models():
    config = load_preset("copy_act", {"model.core.controller_size": "12"})
    saved = config.to_dict()
    assert saved["model"]["kind"] == "act" and saved["model"]["core"]["kind"] == "ntm"
    assert config_from_dict(saved) == config


def test_a_legacy_config_reads_as_todays():
    flat = {"kind": "rnn", "hidden_size": 16, "num_layers": 1, "memory_slots": 128}
    act = {"halting": "pondernet", "tau": 0.001, "epsilon": 0.05, "max_steps": 7}
    upgraded = upgrade_legacy({"model": flat, "act": act})
    assert upgraded["model"] == {
        "kind": "act",
        "halting": "pondernet",
        "tau": 0.001,
        "epsilon": 0.05,
        "max_steps": 7,
        "core": {"kind": "rnn", "hidden_size": 16, "num_layers": 1},
    }
    plain = config_from_dict({"model": {**flat, "kind": "lstm"}, "act": {"halting": "none"}})
    assert plain.model == LSTMConfig(hidden_size=16, num_layers=1)
    sat = {"kind": "show_attend_tell", "cnn_channels": 8, "attention": "bahdanau"}
    assert upgrade_legacy({"model": sat, "act": {}})["model"] == {
        "kind": "show_attend_tell",
        "channels": 8,
        "attention": "soft",
    }
    today = load_preset("copy_act").to_dict()
    assert upgrade_legacy(today) is today  # today's configs pass unchanged
