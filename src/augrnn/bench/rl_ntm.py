"""The RL-NTM's training step (Zaremba & Sutskever 2015) beside its controller alone, in one
run.

A training step is forward + backward + Adam step on ``tape_copy`` episodes of ``length``
symbols of 30 (the default 20: a tape of 21 cells, 21 targets, a budget of 42 steps). The
contenders:

- ``lstm_cell``: the baseline, the RL-NTM's controller alone: its ``nn.LSTMCell`` unrolled over
  the same steps on random inputs of its width, with a linear read-out to the symbols and the
  mean of the read-out as the loss;
- ``rl_ntm_eager``: the RL-NTM without a memory tape, sampling its choices (REINFORCE);
- ``rl_ntm_memory``: the same with a memory tape of ``memory_width`` values (the paper's 35).

What the RL-NTM adds per step is sampling three choices, gathering the symbol under the head
and, with a memory tape, rewriting one of its T cells (O(B T D)).
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
from augrnn.rl_ntm.model import RLNTM
from augrnn.tasks.tapes import TapeCopyTask, TapeTaskConfig

NAME = "rl_ntm"
SIZES = {"length": 20, "hidden_size": 64, "memory_width": 35}


def build_step(
    contender: str, *, device: str, batch_size: int, length: int, hidden_size: int,
    memory_width: int,
) -> Step:  # fmt: skip
    """One training step of ``contender`` on a fixed copy batch (seeded, the same for all)."""
    task = TapeCopyTask(TapeTaskConfig(min_length=length, max_length=length))
    batch = task.sample(batch_size, torch.Generator().manual_seed(0)).to(device)
    torch.manual_seed(0)
    width = memory_width if contender == "rl_ntm_memory" else 0
    model = RLNTM(task.alphabet, hidden_size=hidden_size, memory_width=width).to(device).train()
    if contender == "lstm_cell":
        seen = torch.rand(batch.steps, batch_size, model.cell.input_size, device=device)
        controller = [*model.cell.parameters(), *model.symbol.parameters()]
        return adam_step(controller_alone_loss(model.cell, model.symbol, seen), controller, 1e-3)
    if contender in ("rl_ntm_eager", "rl_ntm_memory"):
        return adam_step(lambda: model.loss(task, batch)[0], model.parameters(), 1e-3)
    raise ValueError(f"unknown rl_ntm contender {contender!r}")


def run(options: Options, **sizes: Any) -> dict[str, Any]:
    """Time the contenders at each batch size; ``sizes`` override :data:`SIZES`."""
    sizes = with_defaults(NAME, SIZES, sizes)
    contenders = ["lstm_cell", "rl_ntm_eager", "rl_ntm_memory"]
    report = against_lstm_cell(NAME, build_step, contenders, (), sizes, options)
    report["measures"] = (
        "tape_copy training step (forward + backward + Adam) against the controller"
    )
    report["time_steps"] = 2 * sizes["length"] + 2
    return report


table = ntm_table
