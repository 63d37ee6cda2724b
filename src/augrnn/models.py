"""Building a model from its configuration."""

from __future__ import annotations

from augrnn.controllers import LSTMBaseline
from augrnn.memory.ntm import NTM, RecurrentModel
from augrnn.train.config import ModelConfig

MODEL_KINDS = ("ntm", "lstm")


def build_model(config: ModelConfig, input_size: int, output_size: int) -> RecurrentModel:
    """A time-major sequence model mapping (T, B, input_size) to (T, B, output_size) logits."""
    if config.kind == "ntm":
        return NTM(
            input_size,
            output_size,
            controller=config.controller,
            controller_size=config.controller_size,
            controller_layers=config.controller_layers,
            memory_slots=config.memory_slots,
            memory_width=config.memory_width,
            read_heads=config.read_heads,
            write_heads=config.write_heads,
            shift_width=config.shift_width,
            memory_init=config.memory_init,
            similarity=config.similarity,
            clip_controller_outputs=config.clip_controller_outputs,
        )
    if config.kind == "lstm":
        return RecurrentModel(
            LSTMBaseline(input_size, output_size, config.hidden_size, config.num_layers)
        )
    raise ValueError(f"model.kind must be one of {MODEL_KINDS}, got {config.kind!r}")
