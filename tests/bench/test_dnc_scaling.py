"""The sparse DNC's scaling benchmark at tiny sizes: the dense DNC only up to its limit, the
sparse one's K clipped to N, growth relative to the smallest N."""

import math

import pytest

from augrnn.bench import dnc_scaling
from augrnn.bench.common import Options

TINY = {
    "slots": (4, 16),
    "time_steps": 2,
    "sparse_reads": 8,
    "sparse_links": 2,
    "dense_max_slots": 4,
}


def test_the_sweep_runs_dense_up_to_its_limit_and_sparse_at_every_size():
    report = dnc_scaling.run(Options(batch_sizes=[2], repeats=1, warmup=0, memory=False), **TINY)
    rows = [(r["memory_slots"], r["contender"]) for r in report["results"]]
    assert rows == [(4, "dense"), (4, "sparse"), (16, "sparse")]
    sparse_rows = [r for r in report["results"] if r["contender"] == "sparse"]
    assert [r["sparse_reads"] for r in sparse_rows] == [4, 8]  # K ≤ N
    assert sparse_rows[0]["time_growth"] == 1.0 and sparse_rows[1]["slots_growth"] == 4.0
    for row in report["results"]:
        assert row["step_s"] > 0 and math.isfinite(row["time_step_ms"])
    assert dnc_scaling.table(report).count("\n") == len(rows)


def test_unknown_sizes_and_contenders_are_clear_errors():
    with pytest.raises(ValueError, match="unknown dnc_scaling sizes"):
        dnc_scaling.run(Options(repeats=1), slot=(4,))
    with pytest.raises(ValueError, match="unknown dnc_scaling contender"):
        dnc_scaling.build_step("fast", device="cpu", batch_size=1, memory_slots=4, time_steps=2)
