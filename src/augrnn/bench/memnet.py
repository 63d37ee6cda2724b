"""MemN2N's training step beside the LSTM baseline that reads the same story word by word.

A training step is forward + backward + Adam step on a fixed batch of ``babi`` stories (all 20
types, drawn with seed 0; each story as sentences of word ids for MemN2N and as one sequence
of one-hot words for the LSTM). The contenders:

- ``lstm``: the baseline of the ``babi_lstm`` preset, one ``hidden_size`` LSTM layer over the
  story's words then the question's, answering at the "?" with a linear read-out;
- ``memn2n``: :class:`augrnn.memnet.memn2n.MemN2N` with ``hops`` hops of ``embedding_size``
  (the ``babi_memn2n`` preset's model, random noise included).

So ``ratio_to_lstm`` is what reading the story as a memory costs against reading it as a
sequence; it is not a comparison of accuracy.
"""

from __future__ import annotations

from typing import Any

import torch

from augrnn.bench.common import (
    Options,
    Step,
    adam_step,
    environment,
    format_table,
    mib,
    peak_memory,
    time_alternating,
    with_defaults,
)
from augrnn.memnet.memn2n import MemN2N
from augrnn.registry import build_model, models
from augrnn.tasks.babi import BabiConfig, BabiTask

NAME = "memnet"
DEFAULT_BATCH_SIZES = (1, 32)
CONTENDERS = ("lstm", "memn2n")
SIZES = {"embedding_size": 50, "hops": 3, "hidden_size": 100}


def build_step(
    contender: str,
    *,
    device: str,
    batch_size: int,
    embedding_size: int,
    hops: int,
    hidden_size: int,
) -> Step:
    """One training step of ``contender`` on a fixed seeded batch (the same for both)."""
    task = BabiTask(BabiConfig(id="all", train_size=None))
    batch = task.sample(batch_size, torch.Generator().manual_seed(0)).to(device)
    torch.manual_seed(0)
    if contender == "memn2n":
        model: Any = MemN2N(task.input_size, task.classes, embedding_size=embedding_size, hops=hops)
    elif contender == "lstm":
        config = models.get("lstm").config_class(hidden_size=hidden_size, num_layers=1)
        model = build_model(config, task.input_size, task.output_size)
    else:
        raise ValueError(f"unknown memnet contender {contender!r}; choose from {CONTENDERS}")
    model.to(device).train()
    return adam_step(lambda: model.loss(task, batch)[0], model.parameters(), 1e-3)


def run(options: Options, **sizes: Any) -> dict[str, Any]:
    """Time both contenders at each batch size; ``sizes`` override :data:`SIZES`."""
    sizes = with_defaults(NAME, SIZES, sizes)
    results = []
    for batch_size in options.sizes(DEFAULT_BATCH_SIZES):
        params = {"batch_size": batch_size, **sizes}
        steps = {c: build_step(c, device=options.device, **params) for c in CONTENDERS}
        medians = time_alternating(
            steps, options.repeats, options.warmup, options.device, options.min_time
        )
        for contender in CONTENDERS:
            seconds = medians[contender]
            results.append(
                {
                    "batch_size": batch_size,
                    "contender": contender,
                    "step_s": seconds,
                    "sequences_per_s": batch_size / seconds,
                    "ratio_to_lstm": seconds / medians["lstm"],
                    "peak_memory_bytes": peak_memory(NAME, contender, params, options),
                }
            )
    return {
        "benchmark": NAME,
        "measures": "bAbI training step (forward + backward + Adam) against an LSTM reader",
        **environment(options),
        **sizes,
        "results": results,
    }


def table(report: dict[str, Any]) -> str:
    return format_table(
        [
            ("batch", lambda r: str(r["batch_size"])),
            ("contender", lambda r: r["contender"]),
            ("step ms", lambda r: f"{1e3 * r['step_s']:.2f}"),
            ("seq/s", lambda r: f"{r['sequences_per_s']:.1f}"),
            ("x LSTM", lambda r: f"{r['ratio_to_lstm']:.2f}x"),
            ("peak MiB", lambda r: mib(r["peak_memory_bytes"])),
        ],
        report["results"],
    )
