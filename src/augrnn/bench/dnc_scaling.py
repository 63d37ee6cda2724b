"""How the sparse DNC's training step scales with the memory size N, beside the dense DNC.

A training step is forward + backward + Adam step of the DNC (LSTM controller of 64 units, slots
of width 16, 4 read heads and one write head, the reference implementation's repeat-copy sizes)
on random inputs (T, B, 9) with a squared-error loss against random targets (T, B, 8), eager.

- ``sparse``: the sparse DNC (``sparse_reads`` K = 8, ``sparse_links`` K_L = 8) at
  N = 128 ... 1,000,000: each step scans the N slots without gradients (content ranking, the K
  least used) and differentiates O(K) rows, so time per step should grow about linearly in N
  and memory with N (the memory, usage and link stores) but not with N per time step;
- ``dense``: the dense DNC at the sizes up to ``dense_max_slots`` (its N x N link matrix grows
  quadratically).

Per setting (:func:`augrnn.bench.scaling.measure_setting`): median seconds per training step (at
most 3 repeats) and per time step, the growth of the time per step against N's, and peak memory
(see :mod:`augrnn.bench.common`: what the step needs above what is resident before it). The batch
is 8 unless ``--batch-sizes`` names one. The sweep takes a few minutes and about 4 GB at N =
1,000,000, so ``augrnn bench`` runs it only when named.
"""

from __future__ import annotations

from typing import Any

from augrnn.bench.common import Options, Step, environment, format_table, mib, with_defaults
from augrnn.bench.scaling import INPUT, OUTPUT, measure_setting, random_data_step
from augrnn.memory.dnc import DNC

NAME = "dnc_scaling"
ON_REQUEST = True
DEFAULT_BATCH_SIZES = (8,)
CONTROLLER, WIDTH, READ_HEADS = 64, 16, 4
SIZES = {
    "slots": (128, 1_024, 16_384, 131_072, 1_000_000),
    "time_steps": 10,
    "sparse_reads": 8,
    "sparse_links": 8,
    "dense_max_slots": 1_024,
}


def build_step(
    contender: str,
    *,
    device: str,
    batch_size: int,
    memory_slots: int,
    time_steps: int,
    sparse_reads: int | None = None,
    sparse_links: int | None = None,
) -> Step:
    """One training step of the DNC with N = ``memory_slots`` over ``time_steps`` steps;
    ``contender`` is "sparse" or "dense"."""
    if contender not in ("sparse", "dense"):
        raise ValueError(f"unknown dnc_scaling contender {contender!r}; use sparse or dense")
    sparsity = (
        {"sparse_reads": sparse_reads, "sparse_links": sparse_links}
        if contender == "sparse"
        else {}
    )

    def make_model() -> DNC:
        return DNC(
            INPUT,
            OUTPUT,
            controller_size=CONTROLLER,
            memory_slots=memory_slots,
            memory_width=WIDTH,
            read_heads=READ_HEADS,
            **sparsity,
        )

    return random_data_step(make_model, device, batch_size, time_steps)


def _measure(options: Options, contender: str, params: dict[str, Any]) -> dict[str, Any]:
    return measure_setting(NAME, build_step, options, contender, params)


def run(options: Options, **sizes: Any) -> dict[str, Any]:
    """The sweep at each batch size; ``sizes`` override :data:`SIZES`."""
    sizes = with_defaults(NAME, SIZES, sizes)
    results = []
    for batch_size in options.sizes(DEFAULT_BATCH_SIZES):
        for slots in sizes["slots"]:
            params = {"batch_size": batch_size, "memory_slots": slots}
            params["time_steps"] = sizes["time_steps"]
            if slots <= sizes["dense_max_slots"]:
                results.append(_measure(options, "dense", params))
            sparse = {
                **params,
                "sparse_reads": min(sizes["sparse_reads"], slots),
                "sparse_links": min(sizes["sparse_links"], slots),
            }
            results.append(_measure(options, "sparse", sparse))
    for contender in ("sparse", "dense"):
        rows = [r for r in results if r["contender"] == contender]
        for row in rows:
            # time per step relative to the smallest N, against N's own growth
            row["time_growth"] = row["time_step_ms"] / rows[0]["time_step_ms"]
            row["slots_growth"] = row["memory_slots"] / rows[0]["memory_slots"]
    return {
        "benchmark": NAME,
        "measures": "DNC training step (forward + backward + Adam), eager, random data",
        **environment(options),
        "controller_size": CONTROLLER,
        "memory_width": WIDTH,
        "read_heads": READ_HEADS,
        **{k: list(v) if isinstance(v, tuple) else v for k, v in sizes.items()},
        "results": results,
    }


def table(report: dict[str, Any]) -> str:
    return format_table(
        [
            ("batch", lambda r: str(r["batch_size"])),
            ("N", lambda r: f"{r['memory_slots']:,}"),
            ("T", lambda r: str(r["time_steps"])),
            ("contender", lambda r: r["contender"]),
            ("step s", lambda r: f"{r['step_s']:.3f}"),
            ("ms/time step", lambda r: f"{r['time_step_ms']:.2f}"),
            ("time/N growth", lambda r: f"{r['time_growth']:.1f}/{r['slots_growth']:.0f}"),
            ("peak MiB", lambda r: mib(r["peak_memory_bytes"])),
        ],
        report["results"],
    )
