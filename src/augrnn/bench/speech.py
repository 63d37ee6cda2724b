"""Listen, Attend and Spell's training step beside its no-attention baseline, CTC and its
speller's first LSTM cell alone, in one run.

A training step is forward + backward + Adam step on one batch of ``frames`` frames of 40
log-mel bins (random features: the step's cost does not depend on what is heard) and
transcripts of ``characters`` characters, with the las_digits preset's sizes. The contenders:

- ``lstm_cell``: the speller's first ``nn.LSTMCell`` alone, unrolled over the transcript's
  steps on random inputs, with the character read-out;
- ``las_none``: the no-attention encoder-decoder (the same listener and speller), the baseline
  attention is measured against (``ratio_to_no_attention``);
- ``las_content``, ``las_location``: LAS with content-based and location-aware attention;
- ``ctc``: the listener with one pyramid layer and a CTC read-out.
"""

from __future__ import annotations

from typing import Any

import torch

from augrnn.bench.common import (
    Options,
    adam_step,
    controller_alone_loss,
    format_table,
    mib,
    with_defaults,
)
from augrnn.bench.ntm import against_lstm_cell
from augrnn.speech import CTC, LAS
from augrnn.tasks.base import Batch
from augrnn.tasks.speech import SpeechTask

NAME = "speech"
SIZES = {
    "frames": 300,
    "characters": 40,
    "listener_size": 64,
    "speller_size": 128,
    "speller_layers": 2,
}
CONTENDERS = ["lstm_cell", "las_none", "las_content", "las_location", "ctc"]


def speech_batch(batch_size: int, frames: int, characters: int, device: str) -> Batch:
    """Random features (frames, B, 40) and transcripts of ``characters`` letters, then EOS."""
    task = SpeechTask()
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(frames, batch_size, task.input_size, generator=generator)
    letters = torch.randint(3, task.output_size, (characters, batch_size), generator=generator)
    targets = torch.cat([letters, torch.full((1, batch_size), 2)])
    ones = torch.ones(characters + 1, batch_size)
    lengths = torch.full((batch_size,), characters)
    batch = Batch(inputs, targets, ones, lengths, torch.ones(frames, batch_size))
    return batch.to(device)


def build_step(
    contender: str, *, device: str, batch_size: int, frames: int, characters: int,
    listener_size: int, speller_size: int, speller_layers: int,
):  # fmt: skip
    task = SpeechTask()
    batch = speech_batch(batch_size, frames, characters, device)
    torch.manual_seed(0)
    if contender == "ctc":
        model = CTC(task.input_size, task.output_size, listener_size=listener_size)
        model = model.to(device).train()
        return adam_step(lambda: model.loss(task, batch)[0], model.parameters(), 1e-3)
    attention = contender.removeprefix("las_") if contender != "lstm_cell" else "none"
    model = LAS(
        task.input_size, task.output_size, listener_size=listener_size,
        speller_size=speller_size, speller_layers=speller_layers, embedding_size=32,
        attention=attention,
    ).to(device).train()  # fmt: skip
    if contender == "lstm_cell":
        cell = model.cells[0]
        seen = torch.rand(characters + 1, batch_size, cell.input_size, device=device)
        params = [*cell.parameters(), *model.output.parameters()]
        return adam_step(controller_alone_loss(cell, model.output, seen), params, 1e-3)
    if contender in CONTENDERS:
        return adam_step(lambda: model.loss(task, batch)[0], model.parameters(), 1e-3)
    raise ValueError(f"unknown speech contender {contender!r}")


def run(options: Options, **sizes: Any) -> dict[str, Any]:
    """Time the contenders at each batch size; ``sizes`` override :data:`SIZES`."""
    sizes = with_defaults(NAME, SIZES, sizes)
    report = against_lstm_cell(NAME, build_step, CONTENDERS, (), sizes, options)
    baseline = {
        r["batch_size"]: r["step_s"] for r in report["results"] if r["contender"] == "las_none"
    }
    for row in report["results"]:
        row["ratio_to_no_attention"] = row["step_s"] / baseline[row["batch_size"]]
    report["measures"] = (
        "LAS training step (forward + backward + Adam) against the no-attention model"
    )
    report["time_steps"] = sizes["frames"]
    return report


def table(report: dict[str, Any]) -> str:
    return format_table(
        [
            ("batch", lambda r: str(r["batch_size"])),
            ("contender", lambda r: r["contender"]),
            ("step ms", lambda r: f"{1e3 * r['step_s']:.2f}"),
            ("seq/s", lambda r: f"{r['sequences_per_s']:.1f}"),
            ("x no attention", lambda r: f"{r['ratio_to_no_attention']:.2f}x"),
            ("x LSTMCell", lambda r: f"{r['ratio_to_lstm_cell']:.2f}x"),
            ("peak MiB", lambda r: mib(r["peak_memory_bytes"])),
        ],
        report["results"],
    )
