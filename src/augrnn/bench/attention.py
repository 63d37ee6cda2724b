"""The decoder step with each attention type against the same decoder without attention.

The encoder-decoder of the presets (embeddings of 64, width 128, GRU) on a source of S = 20
tokens and T = 20 target tokens from a vocabulary of 20, inputs (S, B) and (T, B) word ids. Two
figures per attention type, each a median over repeats, with every type's two timings called in
turn inside each repeat:

- decode: one greedy decoder step without gradients (the encoder excluded), ms per step;
- train: forward + backward of a teacher-forced batch (the encoder included), ms per target token.

Ratios are to the ``none`` decoder (final encoder state, no attention). Peak memory is that of
the training step.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from augrnn.attention.seq2seq import Seq2Seq
from augrnn.bench.common import (
    Options,
    Step,
    environment,
    format_table,
    mib,
    peak_memory,
    time_alternating,
    with_defaults,
)

NAME = "attention"
DEFAULT_BATCH_SIZES = (1, 32)
KINDS = ("none", "bahdanau", "location", "luong_dot", "luong_general", "luong_concat", "scaled_dot")
VOCAB, BOS = 20, 1
SIZES = {"source_length": 20, "target_length": 20, "hidden_size": 128, "embedding_size": 64}


def _model_and_data(kind: str, device: str, batch_size: int, sizes: dict[str, int]):
    generator = torch.Generator().manual_seed(0)
    source = torch.randint(3, VOCAB, (sizes["source_length"], batch_size), generator=generator)
    targets = torch.randint(3, VOCAB, (sizes["target_length"], batch_size), generator=generator)
    torch.manual_seed(0)
    model = Seq2Seq(
        VOCAB,
        VOCAB,
        attention=kind,
        hidden_size=sizes["hidden_size"],
        embedding_size=sizes["embedding_size"],
    ).to(device)
    return model.train(), source.to(device), targets.to(device)


def decode_step(model: Seq2Seq, source: torch.Tensor, target_length: int) -> Step:
    """Greedy decoding of ``target_length`` tokens; returns the seconds per decoder step."""
    mask = torch.ones_like(source, dtype=torch.bool)

    @torch.no_grad()
    def step() -> float:
        memory, state = model.encode(source, mask)
        previous = torch.full((source.shape[1],), BOS, dtype=torch.long, device=source.device)
        if source.is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(target_length):
            logits, _, state = model.step(previous, state, memory)
            previous = logits.argmax(-1)
        if source.is_cuda:
            torch.cuda.synchronize()
        return (time.perf_counter() - start) / target_length

    return step


def train_step(model: Seq2Seq, source: torch.Tensor, targets: torch.Tensor) -> Step:
    """Forward + backward of a teacher-forced batch; returns the seconds per target token."""

    def step() -> float:
        start = time.perf_counter()
        logits, _ = model(source, None, targets)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())
        loss.backward()
        model.zero_grad(set_to_none=True)
        if source.is_cuda:
            torch.cuda.synchronize()
        return (time.perf_counter() - start) / targets.shape[0]

    return step


def build_step(contender: str, *, device: str, batch_size: int, **sizes: int) -> Step:
    """The training step of the decoder with attention ``contender`` (one of :data:`KINDS`)."""
    if contender not in KINDS:
        raise ValueError(f"unknown attention {contender!r}; choose one of {', '.join(KINDS)}")
    return train_step(*_model_and_data(contender, device, batch_size, sizes))


def run(options: Options, kinds: tuple[str, ...] = KINDS, **sizes: Any) -> dict[str, Any]:
    """Time decode and train steps of every attention type in ``kinds`` (``none`` is always
    included: it is the baseline); ``sizes`` override :data:`SIZES`."""
    sizes = with_defaults(NAME, SIZES, sizes)
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ValueError(f"unknown attention types {bad}; choose from {', '.join(KINDS)}")
    kinds = ("none", *(k for k in kinds if k != "none"))
    results = []
    for batch_size in options.sizes(DEFAULT_BATCH_SIZES):
        steps: dict[str, Step] = {}
        for kind in kinds:
            model, source, targets = _model_and_data(kind, options.device, batch_size, sizes)
            steps[f"{kind}/decode"] = decode_step(model, source, sizes["target_length"])
            steps[f"{kind}/train"] = train_step(model, source, targets)
        medians = time_alternating(
            steps, options.repeats, options.warmup, options.device, options.min_time
        )
        for kind in kinds:
            decode_s, train_s = medians[f"{kind}/decode"], medians[f"{kind}/train"]
            params = {"batch_size": batch_size, **sizes}
            results.append(
                {
                    "batch_size": batch_size,
                    "attention": kind,
                    "decode_ms_per_step": 1e3 * decode_s,
                    "train_ms_per_token": 1e3 * train_s,
                    "train_sequences_per_s": batch_size / (train_s * sizes["target_length"]),
                    "decode_ratio_to_none": decode_s / medians["none/decode"],
                    "train_ratio_to_none": train_s / medians["none/train"],
                    "peak_memory_bytes": peak_memory(NAME, kind, params, options),
                }
            )
    return {
        "benchmark": NAME,
        "measures": "decoder step (greedy, no grad) and training step per token, against none",
        **environment(options),
        **sizes,
        "results": results,
    }


def table(report: dict[str, Any]) -> str:
    return format_table(
        [
            ("batch", lambda r: str(r["batch_size"])),
            ("attention", lambda r: r["attention"]),
            ("decode ms", lambda r: f"{r['decode_ms_per_step']:.3f}"),
            ("x none", lambda r: f"{r['decode_ratio_to_none']:.2f}x"),
            ("train ms/token", lambda r: f"{r['train_ms_per_token']:.3f}"),
            ("x none", lambda r: f"{r['train_ratio_to_none']:.2f}x"),
            ("train seq/s", lambda r: f"{r['train_sequences_per_s']:.1f}"),
            ("peak MiB", lambda r: mib(r["peak_memory_bytes"])),
        ],
        report["results"],
    )
