"""The NRAM's training step (Kurach, Andrychowicz & Sutskever 2015) beside its controller alone,
in one run.

A training step is forward + backward + Adam step on ``increment`` episodes of complexity
``length`` (the default 15, the paper's largest in training: a memory of 16 cells and integers,
17 timesteps). The contenders:

- ``lstm_cell``: the baseline, the NRAM's controller alone: ``nn.LSTMCell(registers,
  hidden_size)`` and its linear layer to the circuit's logits, unrolled over the same
  timesteps on random inputs, with the mean of the logits as the loss;
- ``nram_eager``: the NRAM with that controller and the paper's 14 modules.

The NRAM's own work per timestep is O(B M²) for each module of two arguments (the outer product
of its inputs) and O(B M²) for READ and WRITE, beside the controller's O(B H²).
"""

from __future__ import annotations

from typing import Any

import torch

from augrnn.bench.common import (
    Options,
    Step,
    adam_step,
    controller_alone_loss,
    with_defaults,
)
from augrnn.bench.ntm import against_lstm_cell
from augrnn.bench.ntm import table as ntm_table
from augrnn.nram.model import NRAM
from augrnn.tasks.pointers import IncrementTask, PointerTaskConfig

NAME = "nram"
SIZES = {"length": 15, "registers": 4, "hidden_size": 64}


def build_step(
    contender: str, *, device: str, batch_size: int, length: int, registers: int, hidden_size: int
) -> Step:
    """One training step of ``contender`` on a fixed increment batch (seeded, the same for
    all)."""
    task = IncrementTask(PointerTaskConfig(min_size=length, max_size=length))
    batch = task.sample(batch_size, torch.Generator().manual_seed(0)).to(device)
    torch.manual_seed(0)
    model = NRAM(registers=registers, hidden_size=hidden_size).to(device)
    if contender == "lstm_cell":
        seen = torch.rand(batch.steps, batch_size, registers, device=device)
        controller = [*model.cell.parameters(), *model.head.parameters()]
        return adam_step(controller_alone_loss(model.cell, model.head, seen), controller, 1e-3)
    if contender == "nram_eager":
        return adam_step(lambda: model.loss(task, batch)[0], model.parameters(), 1e-3)
    raise ValueError(f"unknown nram contender {contender!r}")


def run(options: Options, **sizes: Any) -> dict[str, Any]:
    """Time the contenders at each batch size; ``sizes`` override :data:`SIZES`."""
    sizes = with_defaults(NAME, SIZES, sizes)
    report = against_lstm_cell(NAME, build_step, ["lstm_cell", "nram_eager"], (), sizes, options)
    report["measures"] = (
        "increment training step (forward + backward + Adam) against the controller"
    )
    report["time_steps"] = sizes["length"] + 2
    return report


table = ntm_table
