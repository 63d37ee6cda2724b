"""Building a Seq2Seq from the run configuration (``model.kind = "seq2seq"``)."""

import pytest

from augrnn.attention import Seq2Seq
from augrnn.attention.modules import LuongAttention
from augrnn.models import build_model
from augrnn.train.config import (
    ActConfig,
    ConfigError,
    ModelConfig,
    apply_overrides,
    config_from_dict,
)


def test_defaults_of_the_new_model_fields():
    config = ModelConfig()
    assert config.embedding_size == 64 and config.encoder == "gru"
    assert config.attention == "bahdanau" and config.no_attention_context == "final"
    assert config.local_window is None and config.teacher_forcing == 1.0


def test_build_model_returns_a_seq2seq_with_the_configured_settings():
    config = ModelConfig(
        kind="seq2seq",
        hidden_size=12,
        embedding_size=5,
        encoder="lstm",
        attention="luong_concat",
        local_window=2,
        teacher_forcing=0.5,
    )
    model = build_model(config, input_size=11, output_size=9)
    assert isinstance(model, Seq2Seq)
    assert (model.source_vocab_size, model.target_vocab_size) == (11, 9)
    assert model.source_embedding.embedding_dim == 5 and model.hidden_size == 12
    assert model.encoder_kind == "lstm" and model.teacher_forcing == 0.5
    assert isinstance(model.attention, LuongAttention) and model.attention.local_window == 2
    baseline = build_model(
        ModelConfig(kind="seq2seq", hidden_size=12, attention="none", no_attention_context="mean"),
        11,
        9,
    )
    assert baseline.attention is None and baseline.no_attention_context == "mean"


def test_seq2seq_does_not_ponder_and_bad_settings_fail_at_build():
    with pytest.raises(ValueError, match="does not support pondering"):
        build_model(ModelConfig(kind="seq2seq", hidden_size=8), 6, 6, ActConfig(halting="act"))
    with pytest.raises(ValueError, match="attention must be one of"):
        build_model(ModelConfig(kind="seq2seq", hidden_size=8, attention="luong"), 6, 6)


def test_presets_and_overrides_reach_the_new_fields():
    raw = {"model": {"kind": "seq2seq", "attention": "luong_general", "local_window": "none"}}
    raw = apply_overrides(raw, {"model.teacher_forcing": "0.25", "model.encoder": "lstm"})
    config = config_from_dict(raw)
    assert config.model.local_window is None and config.model.teacher_forcing == 0.25
    assert config.model.encoder == "lstm"
    with_window = config_from_dict(apply_overrides(raw, {"model.local_window": "3"}))
    assert with_window.model.local_window == 3
    with pytest.raises(ConfigError, match="model.local_window"):
        apply_overrides(raw, {"model.local_window": "wide"})
