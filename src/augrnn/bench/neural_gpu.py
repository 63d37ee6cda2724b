"""The Neural GPU's training step (Kaiser & Sutskever 2015) beside a bare LSTMCell holding as
many numbers per position as a column of its mental image, in one run.

A training step is forward + backward + Adam step on binary addition episodes
(``long_binary_addition``) with operands of ``length`` bits (the default 20, the paper's
longest in training: inputs (41, B, 4), 41 steps over 41 columns). The contenders:

- ``lstm_cell``: the baseline, ``nn.LSTMCell(4, maps x rows)`` unrolled over the same inputs
  with a linear read-out to the same 2 classes and the same loss;
- ``neural_gpu_eager``: the Neural GPU of ``maps`` maps over ``rows`` rows, ``layers`` CGRUs
  per step (the paper's 24, 4, 2), one parameter set, eager;
- ``neural_gpu_compiled``: the same after ``compile_step()``; its first call compiles and is
  reported as ``compile_s``.

The Neural GPU does n steps over all n columns, so its step grows as n² where the LSTM's grows
as n: at the paper's training length it does 41 × 41 column updates to the LSTM's 41.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from augrnn.bench.common import Options, Step, with_defaults
from augrnn.bench.ntm import LSTMCellBaseline, against_lstm_cell, copy_training_step
from augrnn.bench.ntm import table as ntm_table
from augrnn.neural_gpu.model import NeuralGPU
from augrnn.tasks.long_numbers import LongBinaryAdditionTask, LongNumbersConfig

NAME = "neural_gpu"
COMPILED = ("neural_gpu_compiled",)
SIZES = {"length": 20, "maps": 24, "rows": 4, "layers": 2}


def build_step(
    contender: str, *, device: str, batch_size: int, length: int, maps: int, rows: int, layers: int
) -> Step:
    """One training step of ``contender`` on a fixed addition batch (seeded, the same for all)."""
    task = LongBinaryAdditionTask(LongNumbersConfig(min_n=length, max_n=length))
    batch = task.sample(batch_size, torch.Generator().manual_seed(0)).to(device)
    torch.manual_seed(0)
    if contender == "lstm_cell":
        model: nn.Module = LSTMCellBaseline(task.input_size, maps * rows, task.output_size)
    elif contender in ("neural_gpu_eager", *COMPILED):
        model = NeuralGPU(task.input_size, task.output_size, maps=maps, rows=rows, layers=layers)
    else:
        raise ValueError(f"unknown neural_gpu contender {contender!r}")
    model.to(device)
    if contender in COMPILED:
        model.compile_step()
    return copy_training_step(model, task, batch, sequence_model=False)


def run(options: Options, **sizes: Any) -> dict[str, Any]:
    """Time the contenders at each batch size; ``sizes`` override :data:`SIZES`."""
    sizes = with_defaults(NAME, SIZES, sizes)
    contenders = ["lstm_cell", "neural_gpu_eager"] + (list(COMPILED) if options.compile else [])
    return against_lstm_cell(NAME, build_step, contenders, COMPILED, sizes, options)


table = ntm_table
