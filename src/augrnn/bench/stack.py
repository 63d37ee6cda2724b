"""The stack LSTM's training step (Grefenstette et al. 2015) beside a bare LSTMCell of the
controller's size, in one run.

A training step is forward + backward + Adam step on reversal episodes (``transduction_reversal``)
with sources of ``length`` symbols of 128 (the default 62: 127 time steps, inputs
(127, B, 131)). The contenders:

- ``lstm_cell``: the baseline, ``nn.LSTMCell(131, controller_size)`` unrolled over the same
  inputs with a linear read-out to the same 129 classes and the same loss;
- ``stack_eager``: the stack LSTM (an LSTM controller of ``controller_size``, values of
  ``memory_width``, a capacity of exactly the episode's steps), eager;
- ``stack_compiled``: the same after ``compile_step()``; its first call compiles and is
  reported as ``compile_s``.

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
from augrnn.memory.stack import NeuralStructureCell
from augrnn.sequence import RecurrentModel
from augrnn.tasks.transduction import TransductionConfig, TransductionReversalTask

NAME = "stack"
COMPILED = ("stack_compiled",)
SIZES = {"length": 62, "controller_size": 256, "memory_width": 256}


def build_step(
    contender: str,
    *,
    device: str,
    batch_size: int,
    length: int,
    controller_size: int,
    memory_width: int,
) -> Step:
    """One training step of ``contender`` on a fixed reversal batch (seeded, the same for all)."""
    task = TransductionReversalTask(TransductionConfig(min_length=length, max_length=length))
    batch = task.sample(batch_size, torch.Generator().manual_seed(0)).to(device)
    torch.manual_seed(0)
    if contender == "lstm_cell":
        model: nn.Module = LSTMCellBaseline(task.input_size, controller_size, task.output_size)
    elif contender in ("stack_eager", *COMPILED):
        core = NeuralStructureCell(
            task.input_size,
            task.output_size,
            structure="stack",
            controller_size=controller_size,
            memory_width=memory_width,
            capacity=batch.inputs.shape[0],
        )
        model = RecurrentModel(core)
    else:
        raise ValueError(f"unknown stack contender {contender!r}")
    model.to(device)
    if contender in COMPILED:
        model.compile_step()
    return copy_training_step(model, task, batch, sequence_model=contender != "lstm_cell")


def run(options: Options, **sizes: Any) -> dict[str, Any]:
    """Time the contenders at each batch size; ``sizes`` override :data:`SIZES`."""
    sizes = with_defaults(NAME, SIZES, sizes)
    contenders = ["lstm_cell", "stack_eager"] + (list(COMPILED) if options.compile else [])
    return against_lstm_cell(NAME, build_step, contenders, COMPILED, sizes, options)


table = ntm_table
