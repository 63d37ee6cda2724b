"""The NTM's training step beside a bare LSTMCell of the controller's size, in one run.

A training step is forward + backward + Adam step on copy episodes of ``length`` (the default
20: 2 * 20 + 1 = 41 time steps of 8 bits plus the delimiter channel, inputs (41, B, 9)). The
contenders:

- ``lstm_cell``: the baseline, ``nn.LSTMCell(9, controller_size)`` unrolled over the same inputs
  with a linear read-out to the same 8 outputs and the same loss;
- ``ntm_eager``: the copy NTM (LSTM controller of ``controller_size``, memory ``memory_slots`` x
  ``memory_width``, one read and one write head), eager;
- ``ntm_compiled``: the same NTM after ``NTM.compile_step()``, whose training steps call the
  compiled kernels directly (:mod:`augrnn.compiled_step`). Its first call compiles (tens of
  seconds on a CPU without torch's compile caches, less with them); it runs before the timing and
  its wall time (compiling plus one step) is reported as ``compile_s``;
- ``ntm_compiled_wrapped``: the same with ``compile_step(direct=False)``, each step called
  through torch.compile's own per-call wrappers;
- ``ntm_compiled_chunk4``: the same with ``compile_step(chunk_steps=4)``, four steps per graph
  (41 steps: ten 4-step calls and one single step), which compiles for minutes.

Per batch size and contender: median seconds per step, sequences per second and the ratio of
its step time to ``lstm_cell``'s (``ratio_to_lstm_cell``), plus peak memory (see
:mod:`augrnn.bench.common`).
"""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn

from augrnn.bench.common import (
    Options,
    Step,
    adam_step,
    call_seconds,
    environment,
    format_table,
    mib,
    peak_memory,
    time_alternating,
    with_defaults,
)
from augrnn.memory.ntm import NTM
from augrnn.tasks.copy import CopyTask

NAME = "ntm"
#: The compiled contenders: their steps per graph, and whether the kernels are called directly.
COMPILED = {
    "ntm_compiled": (1, True),
    "ntm_compiled_wrapped": (1, False),
    "ntm_compiled_chunk4": (4, True),
}
DEFAULT_BATCH_SIZES = (1, 32)
SIZES = {"length": 20, "controller_size": 100, "memory_slots": 128, "memory_width": 20}


class LSTMCellBaseline(nn.Module):
    """``nn.LSTMCell`` unrolled over (T, B, input_size) with a linear read-out per step."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int):
        super().__init__()
        self.cell = nn.LSTMCell(input_size, hidden_size)
        self.readout = nn.Linear(hidden_size, output_size)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        h = inputs.new_zeros(inputs.shape[1], self.cell.hidden_size)
        c = torch.zeros_like(h)
        outputs = []
        for x in inputs:
            h, c = self.cell(x, (h, c))
            outputs.append(self.readout(h))
        return torch.stack(outputs)


def build_step(
    contender: str,
    *,
    device: str,
    batch_size: int,
    length: int,
    controller_size: int,
    memory_slots: int,
    memory_width: int,
) -> Step:
    """One training step of ``contender`` on a fixed copy batch (seeded, the same for all)."""
    task = CopyTask()
    batch = task.sample(batch_size, torch.Generator().manual_seed(0), length=length).to(device)
    torch.manual_seed(0)
    if contender == "lstm_cell":
        model: nn.Module = LSTMCellBaseline(task.input_size, controller_size, task.output_size)
    elif contender in ("ntm_eager", *COMPILED):
        model = NTM(
            task.input_size,
            task.output_size,
            controller_size=controller_size,
            memory_slots=memory_slots,
            memory_width=memory_width,
        )
    else:
        raise ValueError(f"unknown ntm contender {contender!r}")
    model.to(device)
    if contender in COMPILED:
        chunk_steps, direct = COMPILED[contender]
        model.compile_step(chunk_steps=chunk_steps, direct=direct)
    return copy_training_step(model, task, batch, sequence_model=contender != "lstm_cell")


def copy_training_step(model: nn.Module, task: CopyTask, batch, *, sequence_model: bool) -> Step:
    """Forward, backward and an Adam step of ``model`` on ``batch``; a ``sequence_model``
    returns (outputs, state), the LSTMCell baseline its outputs alone."""

    def loss() -> torch.Tensor:
        output = model(batch.inputs)
        return task.loss(output[0] if sequence_model else output, batch)

    return adam_step(loss, model.parameters(), 1e-4)


def run(options: Options, **sizes: Any) -> dict[str, Any]:
    """Time the contenders at each batch size; ``sizes`` override :data:`SIZES`."""
    sizes = with_defaults(NAME, SIZES, sizes)
    contenders = ["lstm_cell", "ntm_eager"] + (list(COMPILED) if options.compile else [])
    return against_lstm_cell(NAME, build_step, contenders, COMPILED, sizes, options)


def against_lstm_cell(
    name: str,
    build: Any,
    contenders: list[str],
    compiled: Any,
    sizes: dict[str, Any],
    options: Options,
) -> dict[str, Any]:
    """The report of benchmark ``name``: ``build(contender, device=..., batch_size=...,
    **sizes)`` steps timed alternately at each batch size, beside ``lstm_cell``; the first call
    of each contender in ``compiled`` compiles, timed apart as ``compile_s``."""
    results = []
    for batch_size in options.sizes(DEFAULT_BATCH_SIZES):
        params = {"batch_size": batch_size, **sizes}
        torch._dynamo.reset()  # a fresh compile cache: the compile time is this model's own
        steps = {c: build(c, device=options.device, **params) for c in contenders}
        compile_s = {}
        for contender in compiled:
            if contender in steps:
                start = time.perf_counter()
                call_seconds(steps[contender], options.device)  # compiles
                compile_s[contender] = time.perf_counter() - start
        medians = time_alternating(
            steps, options.repeats, options.warmup, options.device, options.min_time
        )
        for contender in contenders:
            seconds = medians[contender]
            results.append(
                {
                    "batch_size": batch_size,
                    "contender": contender,
                    "step_s": seconds,
                    "sequences_per_s": batch_size / seconds,
                    "ratio_to_lstm_cell": seconds / medians["lstm_cell"],
                    "compile_s": compile_s.get(contender),
                    "peak_memory_bytes": peak_memory(name, contender, params, options),
                }
            )
    return {
        "benchmark": name,
        "measures": "copy training step (forward + backward + Adam) against nn.LSTMCell",
        **environment(options),
        **sizes,
        # Copy's steps; a benchmark of another task says its own.
        "time_steps": 2 * sizes["length"] + 1 if "length" in sizes else None,
        "results": results,
    }


def table(report: dict[str, Any]) -> str:
    return format_table(
        [
            ("batch", lambda r: str(r["batch_size"])),
            ("contender", lambda r: r["contender"]),
            ("step ms", lambda r: f"{1e3 * r['step_s']:.2f}"),
            ("seq/s", lambda r: f"{r['sequences_per_s']:.1f}"),
            ("x LSTMCell", lambda r: f"{r['ratio_to_lstm_cell']:.2f}x"),
            ("compile s", lambda r: "-" if r["compile_s"] is None else f"{r['compile_s']:.1f}"),
            ("peak MiB", lambda r: mib(r["peak_memory_bytes"])),
        ],
        report["results"],
    )
