"""The DNC's training step beside a bare LSTMCell of the controller's size, in one run.

A training step is forward + backward + Adam step on copy episodes of ``length`` (the default
20: 41 time steps, inputs (41, B, 9)), as in :mod:`augrnn.bench.ntm`. The contenders:

- ``lstm_cell``: the baseline, ``nn.LSTMCell(9, controller_size)`` unrolled over the same inputs
  with a linear read-out to the same 8 outputs and the same loss;
- ``dnc_eager``: the DNC (LSTM controller of ``controller_size``, memory ``memory_slots`` x
  ``memory_width``, ``read_heads`` read heads and one write head), eager;
- ``dnc_compiled``: the same DNC after ``DNC.compile_step()`` (kernels called directly); its
  first call compiles and is reported as ``compile_s``.

Per batch size and contender: median seconds per step, sequences per second, the ratio of its
step time to ``lstm_cell``'s (``ratio_to_lstm_cell``) and peak memory (see
:mod:`augrnn.bench.common`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from augrnn.bench.common import Options, Step, with_defaults
from augrnn.bench.ntm import LSTMCellBaseline, against_lstm_cell, copy_training_step
from augrnn.bench.ntm import table as ntm_table
from augrnn.memory.dnc import DNC
from augrnn.tasks.copy import CopyTask

NAME = "dnc"
COMPILED = ("dnc_compiled",)
SIZES = {
    "length": 20,
    "controller_size": 100,
    "memory_slots": 128,
    "memory_width": 20,
    "read_heads": 4,
}


def build_step(
    contender: str,
    *,
    device: str,
    batch_size: int,
    length: int,
    controller_size: int,
    memory_slots: int,
    memory_width: int,
    read_heads: int,
) -> Step:
    """One training step of ``contender`` on a fixed copy batch (seeded, the same for all)."""
    task = CopyTask()
    batch = task.sample(batch_size, torch.Generator().manual_seed(0), length=length).to(device)
    torch.manual_seed(0)
    if contender == "lstm_cell":
        model: nn.Module = LSTMCellBaseline(task.input_size, controller_size, task.output_size)
    elif contender in ("dnc_eager", *COMPILED):
        model = DNC(
            task.input_size,
            task.output_size,
            controller_size=controller_size,
            memory_slots=memory_slots,
            memory_width=memory_width,
            read_heads=read_heads,
        )
    else:
        raise ValueError(f"unknown dnc contender {contender!r}")
    model.to(device)
    if contender in COMPILED:
        model.compile_step()
    return copy_training_step(model, task, batch, sequence_model=contender != "lstm_cell")


def run(options: Options, **sizes: Any) -> dict[str, Any]:
    """Time the contenders at each batch size; ``sizes`` override :data:`SIZES`."""
    sizes = with_defaults(NAME, SIZES, sizes)
    contenders = ["lstm_cell", "dnc_eager"] + (list(COMPILED) if options.compile else [])
    return against_lstm_cell(NAME, build_step, contenders, COMPILED, sizes, options)


table = ntm_table
