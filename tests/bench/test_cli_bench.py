"""``augrnn bench`` through click's runner."""

import json

from click.testing import CliRunner

from augrnn.cli import main

TINY_NTM = ["ntm", "--repeats", "1", "--warmup", "0", "--batch-sizes", "2", "--no-compile"]


def test_bench_writes_the_report_as_json(tmp_path, monkeypatch):
    from augrnn.bench import ntm

    monkeypatch.setitem(ntm.SIZES, "length", 2)
    monkeypatch.setitem(ntm.SIZES, "controller_size", 4)
    monkeypatch.setitem(ntm.SIZES, "memory_slots", 4)
    monkeypatch.setitem(ntm.SIZES, "memory_width", 3)
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(main, ["bench", *TINY_NTM, "--no-memory", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "ntm_eager" in result.output and "x LSTMCell" in result.output
    report = json.loads(out.read_text())["benchmarks"]["ntm"]
    assert report["controller_size"] == 4
    assert report["cpu_count"] >= 1 and report["cpu_capability"]
    assert f"({report['cpu_capability']}, {report['cpu_count']} cores)" in result.output
    assert [(r["batch_size"], r["contender"]) for r in report["results"]] == [
        (2, "lstm_cell"),
        (2, "ntm_eager"),
    ]


def test_bench_sizes_override_the_benchmarks_own(tmp_path):
    out = tmp_path / "bench.json"
    sizes = ["length=2", "controller_size=4", "memory_slots=4", "memory_width=3"]
    args = [arg for pair in sizes for arg in ("--size", pair)]
    command = ["bench", *TINY_NTM, "--no-memory", "--json", str(out), *args]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    assert "sizes: length=2, controller_size=4, memory_slots=4, memory_width=3" in result.output
    report = json.loads(out.read_text())["benchmarks"]["ntm"]
    assert (report["length"], report["memory_slots"], report["memory_width"]) == (2, 4, 3)


def test_bench_sizes_read_tuples_as_comma_separated_lists(tmp_path):
    out = tmp_path / "bench.json"
    sizes = ["cores=lstm", "ponder=1,2", "hidden_size=4", "input_steps=2"]
    args = [arg for pair in sizes for arg in ("--size", pair)]
    command = ["bench", "act", "--repeats", "1", "--warmup", "0", "--batch-sizes", "2"]
    command += ["--no-compile", "--no-memory", "--json", str(out), *args]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    assert "sizes: cores=lstm, ponder=1,2, hidden_size=4, input_steps=2" in result.output
    rows = json.loads(out.read_text())["benchmarks"]["act"]["results"]
    assert {(r["core"], r["ponder_steps"]) for r in rows} == {("lstm", 1), ("lstm", 2)}


def test_bench_names_an_unknown_size_and_the_known_ones():
    result = CliRunner().invoke(main, ["bench", "ntm", "--size", "hidden_size=8"])
    assert result.exit_code == 2
    assert "unknown ntm size 'hidden_size'" in result.output
    assert "memory_slots" in result.output


def test_bench_names_an_unknown_benchmark_and_the_known_ones():
    result = CliRunner().invoke(main, ["bench", "ntm", "lstm"])
    assert result.exit_code == 2
    assert "unknown benchmark lstm" in result.output
    assert "ntm, act, attention, programmer, peers" in result.output


def test_bench_rejects_batch_sizes_that_are_not_integers():
    result = CliRunner().invoke(main, ["bench", "ntm", "--batch-sizes", "1,x"])
    assert result.exit_code == 2
    assert "comma-separated integers" in result.output


def test_bench_rejects_zero_repeats():
    result = CliRunner().invoke(main, ["bench", "ntm", "--repeats", "0"])
    assert result.exit_code == 1
    assert "repeats must be >= 1" in result.output


def test_bench_peers_without_the_package_says_how_to_install_and_succeeds(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "pytorch_adaptive_computation_time", None)
    result = CliRunner().invoke(main, ["bench", "peers", "--repeats", "1"])
    assert result.exit_code == 0, result.output
    assert "pip install --no-deps pytorch-adaptive-computation-time" in result.output
