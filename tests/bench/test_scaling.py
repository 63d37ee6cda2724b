"""The scaling benchmark at tiny sizes: both sweeps, the plain step left out past its limit."""

import math

import pytest

from augrnn.bench import scaling
from augrnn.bench.common import Options

TINY = {
    "slots": (4, 8),
    "slots_time_steps": 2,
    "lengths": (3, 6),
    "length_slots": 4,
    "checkpoint_every": 2,
    "plain_max_length": 3,
}


def test_both_sweeps_with_positive_figures_and_no_plain_step_past_its_limit():
    report = scaling.run(Options(batch_sizes=[2], repeats=1, warmup=0, memory=False), **TINY)
    rows = [
        (r["sweep"], r["memory_slots"], r["time_steps"], r["contender"]) for r in report["results"]
    ]
    assert rows == [
        ("slots", 4, 2, "plain"),
        ("slots", 8, 2, "plain"),
        ("length", 4, 3, "plain"),
        ("length", 4, 3, "checkpointed"),
        ("length", 4, 6, "checkpointed"),
    ]
    for row in report["results"]:
        assert row["step_s"] > 0 and math.isfinite(row["time_step_ms"])
    slots_rows = [r for r in report["results"] if r["sweep"] == "slots"]
    assert slots_rows[0]["time_growth"] == 1.0
    assert slots_rows[1]["slots_growth"] == 2.0
    assert "time_growth" not in report["results"][2]
    assert scaling.table(report).count("\n") == len(rows)


def test_unknown_sizes_and_contenders_are_clear_errors():
    with pytest.raises(ValueError, match="unknown scaling sizes"):
        scaling.run(Options(repeats=1), slot=(4,))
    with pytest.raises(ValueError, match="unknown scaling contender"):
        scaling.build_step("fast", device="cpu", batch_size=1, memory_slots=4, time_steps=2)
