"""The shared timer, options and peak-memory measurement."""

import re
import time

import pytest
import torch

from augrnn.bench import common
from augrnn.bench.common import (
    Options,
    cpu_model,
    format_table,
    measure_step_memory,
    parse_sizes,
    time_alternating,
)


def test_time_alternating_calls_contenders_in_turn_and_takes_medians():
    calls = []
    own_times = iter([5.0, 1.0, 3.0, 2.0])

    def a():
        calls.append("a")

    def b():
        calls.append("b")
        return next(own_times)  # b times itself

    medians = time_alternating({"a": a, "b": b}, repeats=3, warmup=1)
    assert calls == ["a", "b"] * 4
    assert medians["b"] == 2.0  # median of 1, 3, 2 (the warm-up's 5 is not counted)
    assert 0 < medians["a"] < 1


def test_time_alternating_times_enough_calls_to_fill_min_time(monkeypatch):
    """On a clock that only the step moves (0.01 s a call), a warm-up call sets five calls per
    timing to fill 0.05 s, whatever else the machine is doing."""
    clock = [0.0]
    monkeypatch.setattr(common.time, "perf_counter", lambda: clock[0])
    calls = []

    def step():
        calls.append(1)
        clock[0] += 0.01

    median = time_alternating({"s": step}, repeats=2, warmup=1, min_time=0.05)["s"]
    assert len(calls) == 1 + 2 * 5
    assert median == pytest.approx(0.01)


def test_min_time_counts_the_wall_time_of_steps_that_time_a_part_of_themselves():
    calls = []

    def step():
        calls.append(1)
        time.sleep(0.02)
        return 0.001  # times only a small part of itself

    time_alternating({"s": step}, repeats=1, warmup=1, min_time=0.03)
    assert len(calls) <= 1 + 2  # two calls of 0.02 s fill 0.03 s; fifty would if 0.001 counted


def test_time_alternating_measures_wall_time():
    medians = time_alternating({"sleep": lambda: time.sleep(0.01)}, repeats=2, warmup=0)
    assert 0.009 < medians["sleep"] < 0.5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"repeats": 0}, "repeats must be >= 1"),
        ({"warmup": -1}, "warmup must be >= 0"),
        ({"batch_sizes": [1, 0]}, "batch sizes must be positive"),
        ({"batch_sizes": []}, "batch sizes must be positive"),
        ({"device": "tpu"}, "device must be 'cpu' or 'cuda'"),
        ({"threads": 0}, "threads must be >= 1"),
        ({"min_time": -1}, "min_time must be >= 0"),
    ],
)
def test_options_reject_bad_settings_with_the_expected_range(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Options(**kwargs)


def test_options_sizes_default_to_the_benchmarks_own():
    assert Options().sizes((1, 32)) == [1, 32]
    assert Options(batch_sizes=[4]).sizes((1, 32)) == [4]


def test_step_memory_sees_what_the_step_allocates():
    size = 64 * 2**20

    def step():
        buffer = torch.ones(size // 4)  # 64 MiB of float32, touched
        return float(buffer[-1])

    measured = measure_step_memory(step, steps=2, device="cpu")
    assert size * 0.9 < measured < size * 2


def test_peak_memory_runs_in_a_fresh_process():
    options = Options(threads=1)
    params = {"batch_size": 2, "length": 2, "controller_size": 4}
    params |= {"memory_slots": 4, "memory_width": 3}
    measured = common.peak_memory("ntm", "ntm_eager", params, options)
    assert isinstance(measured, int) and measured >= 0


def test_format_table_aligns_columns():
    columns = [("a", lambda r: r["a"]), ("bb", lambda r: r["b"])]
    text = format_table(columns, [{"a": "xyz", "b": "1"}])
    assert text.splitlines() == ["  a  bb", "xyz   1"]


def test_cpu_model_reads_the_model_name_line(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Xeon 9\n")
    assert cpu_model(str(cpuinfo)) == "Xeon 9"


def test_cpu_model_falls_back_to_platform_without_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(common.platform, "processor", lambda: "arm64")
    assert cpu_model(str(tmp_path / "missing")) == "arm64"
    (tmp_path / "empty").write_text("processor\t: 0\n")
    assert cpu_model(str(tmp_path / "empty")) == "arm64"


SIZE_DEFAULTS = {"cores": ("lstm", "ntm"), "ponder": (1, 2, 4), "hidden_size": 128}


def test_parse_sizes_reads_each_value_as_its_defaults_type():
    sizes = parse_sizes("act", SIZE_DEFAULTS, ["hidden_size=1_024", "ponder=1,4", "cores=lstm"])
    assert sizes == {"hidden_size": 1024, "ponder": (1, 4), "cores": ("lstm",)}
    assert parse_sizes("act", SIZE_DEFAULTS, []) == {}


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("hidden_size", "expected a size as KEY=VALUE"),
        ("hidden_size=", "expected a size as KEY=VALUE"),
        ("width=3", "unknown act size 'width'; known: ['cores', 'hidden_size', 'ponder']"),
        ("hidden_size=big", "hidden_size takes integers, got 'big'"),
        ("ponder=1,x", "ponder takes integers, got 'x'"),
        ("hidden_size=0", "hidden_size must be at least 1, got 0"),
    ],
)
def test_parse_sizes_rejects_bad_pairs_saying_what_was_expected(pair, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_sizes("act", SIZE_DEFAULTS, [pair])


def test_an_adam_step_moves_the_parameters_down_the_loss():
    weight = torch.nn.Parameter(torch.tensor([3.0, -2.0]))
    step = common.adam_step(lambda: weight.square().sum(), [weight], lr=0.1)
    losses = []
    for _ in range(5):
        losses.append(float(weight.detach().square().sum()))
        step()
    assert losses == sorted(losses, reverse=True) and losses[-1] < losses[0]
    assert weight.grad is not None


def test_the_controller_alone_sums_the_read_outs_mean_over_the_steps():
    torch.manual_seed(0)
    cell, readout = torch.nn.LSTMCell(3, 4), torch.nn.Linear(4, 2)
    inputs = torch.rand(5, 2, 3)
    state, expected = None, 0.0
    for x in inputs:
        state = cell(x, state)
        expected += float(readout(state[0]).mean().detach())
    loss = common.controller_alone_loss(cell, readout, inputs)()
    assert float(loss.detach()) == pytest.approx(expected)
    loss.backward()
    assert cell.weight_ih.grad is not None
