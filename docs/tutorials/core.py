# A recurrent core of your own: registered under a name, trained inside ACT on copy.
import tempfile
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from augrnn import registry
from augrnn.core import Core, emit
from augrnn.interface import ModelConfig
from augrnn.train.config import config_from_dict
from augrnn.train.loop import Trainer


@dataclass
class ElmanConfig(ModelConfig):
    """The settings a preset's [model] table may give (named as the constructor names them)."""

    hidden_size: int = 64


class ElmanState(NamedTuple):
    h: torch.Tensor  # (B, hidden_size)


class Elman(Core):
    """h_t = tanh(W x_t + U h_{t−1}); outputs a linear read-out of h_t."""

    Config = ElmanConfig

    def __init__(self, input_size: int, output_size: int | None, hidden_size: int):
        super().__init__()
        self.input_size = input_size
        self.output_size = output_size or hidden_size  # None: inside a wrapper, its features
        self.cell = nn.RNNCell(input_size, hidden_size)
        self.readout = nn.Linear(hidden_size, self.output_size)

    @classmethod
    def from_config(cls, config: ElmanConfig, input_size: int, output_size: int | None):
        return cls(input_size, output_size, config.hidden_size)

    def initial_state(self, batch_size, device=None, dtype=None) -> ElmanState:
        return ElmanState(
            torch.zeros(batch_size, self.cell.hidden_size, device=device, dtype=dtype)
        )

    def forward(self, x: torch.Tensor, state: ElmanState):
        self.check_input(x)
        h = self.cell(x, state.h)
        emit("elman_state", h)  # what a view can draw
        return self.readout(h), ElmanState(h)


# A package would name it in its entry points (see the plugin tutorial); a script registers it.
registry.models.register("elman", Elman)

config = config_from_dict(
    {
        "task": {"name": "copy", "bits": 4, "max_length": 5},
        "model": {"kind": "act", "max_steps": 3, "core": {"kind": "elman", "hidden_size": 32}},
        "optim": {"name": "adam", "lr": 3e-3, "clip_value": "none"},
        "train": {"steps": 60, "batch_size": 16, "eval_every": 30, "eval_sequences": 64},
    }
)
with tempfile.TemporaryDirectory() as run_dir:
    trainer = Trainer(config, run_dir)
    result = trainer.train(progress=False)
print(f"{registry.describe_model(config.model)}: {result.eval_metrics['cost_bits']:.2f} bits")
assert torch.isfinite(torch.tensor(result.eval_metrics["cost_bits"]))
assert 1.0 <= result.eval_metrics["ponder_steps"] <= 3.0
