"""How the NTM's training step scales with the memory size N and the sequence length T.

A training step is forward + backward + Adam step of the NTM (LSTM controller of 100 units, one
read and one write head, memory N x 20) on random inputs (T, B, 9) with a squared-error loss
against random targets (T, B, 8), eager. Two sweeps:

- ``slots``: N = 128, 1,024, 8,192, 65,536 at T = 5; time per time step should grow no faster
  than N (every step reads, writes and addresses all N rows);
- ``length``: T = 100, 1,000, 10,000 at N = 128, plain and with gradient checkpointing every
  ``checkpoint_every`` steps (only every K-th state is kept for the backward pass and each
  K-step segment is recomputed), which trades about one more forward pass for memory that grows
  with T/K + K instead of T. The plain step is measured only up to ``plain_max_length``: beyond
  that its stored activations alone would not fit in this machine's memory.

Per setting: median seconds per training step (over at most 3 repeats: the largest settings
take minutes each) and per time step, and peak memory (see :mod:`augrnn.bench.common`). The batch
is 32 unless ``--batch-sizes`` names one. The whole sweep takes about half an hour and 5 GB on a
CPU, so ``augrnn bench`` runs it only when named.
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
from augrnn.memory.ntm import NTM

NAME = "scaling"
ON_REQUEST = True
MAX_REPEATS = 3
DEFAULT_BATCH_SIZES = (32,)
INPUT, OUTPUT, CONTROLLER, WIDTH = 9, 8, 100, 20
SIZES = {
    "slots": (128, 1_024, 8_192, 65_536),
    "slots_time_steps": 5,
    "lengths": (100, 1_000, 10_000),
    "length_slots": 128,
    "checkpoint_every": 100,
    "plain_max_length": 1_000,
}


def build_step(
    contender: str,
    *,
    device: str,
    batch_size: int,
    memory_slots: int,
    time_steps: int,
    checkpoint_every: int | None = None,
) -> Step:
    """One training step of the NTM with N = ``memory_slots`` over ``time_steps`` steps;
    ``contender`` is "plain" or "checkpointed" (every ``checkpoint_every`` steps)."""
    if contender not in ("plain", "checkpointed"):
        raise ValueError(f"unknown scaling contender {contender!r}; use plain or checkpointed")

    def make_model() -> NTM:
        model = NTM(
            INPUT, OUTPUT, controller_size=CONTROLLER, memory_slots=memory_slots, memory_width=WIDTH
        )
        if contender == "checkpointed":
            model.checkpoint_every = checkpoint_every
        return model

    return random_data_step(make_model, device, batch_size, time_steps)


def random_data_step(make_model, device: str, batch_size: int, time_steps: int) -> Step:
    """One training step (forward, backward, Adam 1e-4) of the sequence model ``make_model()``
    (built after seeding torch with 0) on fixed random inputs (T, B, 9) with a squared-error loss
    of its sigmoid outputs against random targets (T, B, 8)."""
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(time_steps, batch_size, INPUT, generator=generator).to(device)
    targets = torch.rand(time_steps, batch_size, OUTPUT, generator=generator).to(device)
    torch.manual_seed(0)
    model = make_model().to(device)

    def loss() -> torch.Tensor:
        outputs, _ = model(inputs)
        return (torch.sigmoid(outputs) - targets).square().mean()

    return adam_step(loss, model.parameters(), 1e-4)


def measure_setting(
    benchmark: str, build: Any, options: Options, contender: str, params: dict[str, Any]
) -> dict[str, Any]:
    """Time ``build(contender, device=..., **params)``'s step (at most :data:`MAX_REPEATS`
    repeats) and measure its peak memory: the row of a sweep, with ``params`` and the time per
    step and per time step (``params["time_steps"]``)."""
    step = build(contender, device=options.device, **params)
    repeats = min(options.repeats, MAX_REPEATS)
    seconds = time_alternating({contender: step}, repeats, options.warmup, options.device)
    return {
        "contender": contender,
        **params,
        "step_s": seconds[contender],
        "time_step_ms": 1e3 * seconds[contender] / params["time_steps"],
        "peak_memory_bytes": peak_memory(benchmark, contender, params, options),
    }


def _measure(
    options: Options, contender: str, params: dict[str, Any], sweep: str
) -> dict[str, Any]:
    return {"sweep": sweep, **measure_setting(NAME, build_step, options, contender, params)}


def run(options: Options, **sizes: Any) -> dict[str, Any]:
    """Both sweeps at each batch size; ``sizes`` override :data:`SIZES`."""
    sizes = with_defaults(NAME, SIZES, sizes)
    results = []
    for batch_size in options.sizes(DEFAULT_BATCH_SIZES):
        for slots in sizes["slots"]:
            params = {
                "batch_size": batch_size,
                "memory_slots": slots,
                "time_steps": sizes["slots_time_steps"],
            }
            results.append(_measure(options, "plain", params, "slots"))
        for length in sizes["lengths"]:
            params = {
                "batch_size": batch_size,
                "memory_slots": sizes["length_slots"],
                "time_steps": length,
            }
            if length <= sizes["plain_max_length"]:
                results.append(_measure(options, "plain", params, "length"))
            checkpointed = {**params, "checkpoint_every": sizes["checkpoint_every"]}
            results.append(_measure(options, "checkpointed", checkpointed, "length"))
    first = results[0]["time_step_ms"]
    for row in results:
        if row["sweep"] == "slots":
            # time per step relative to N = slots[0], against N's own growth
            row["time_growth"] = row["time_step_ms"] / first
            row["slots_growth"] = row["memory_slots"] / sizes["slots"][0]
    return {
        "benchmark": NAME,
        "measures": "NTM training step (forward + backward + Adam), eager, random data",
        **environment(options),
        "controller_size": CONTROLLER,
        "memory_width": WIDTH,
        **{k: list(v) if isinstance(v, tuple) else v for k, v in sizes.items()},
        "results": results,
    }


def table(report: dict[str, Any]) -> str:
    return format_table(
        [
            ("sweep", lambda r: r["sweep"]),
            ("batch", lambda r: str(r["batch_size"])),
            ("N", lambda r: str(r["memory_slots"])),
            ("T", lambda r: str(r["time_steps"])),
            ("contender", lambda r: r["contender"]),
            ("step s", lambda r: f"{r['step_s']:.3f}"),
            ("ms/time step", lambda r: f"{r['time_step_ms']:.2f}"),
            (
                "time/N growth",
                lambda r: (
                    f"{r['time_growth']:.1f}/{r['slots_growth']:.0f}" if "time_growth" in r else "-"
                ),
            ),
            ("peak MiB", lambda r: mib(r["peak_memory_bytes"])),
        ],
        report["results"],
    )
