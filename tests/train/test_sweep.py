"""Sweeps: the grid, skipping finished runs, the summary table and the plot."""

import json

import pytest

from augrnn.train.config import ConfigError
from augrnn.train.sweep import plan, run_sweep, split_axes, summarise, write_summary

TINY_PARITY = """
[task]
name = "parity"
size = 4

[model]
kind = "act"
halting = "act"
max_steps = 5

[model.core]
kind = "rnn"
hidden_size = 8
num_layers = 1

[optim]
name = "adam"
lr = 1e-2
clip_value = "none"

[train]
steps = 6
batch_size = 8
eval_every = 3
eval_sequences = 20
tensorboard = false
"""


@pytest.fixture
def preset(tmp_path):
    path = tmp_path / "tiny_parity.toml"
    path.write_text(TINY_PARITY)
    return str(path)


def test_split_axes_separates_swept_from_fixed_settings():
    axes, fixed = split_axes({"model.tau": "1e-4, 1e-3,1e-2", "train.steps": "5"})
    assert axes == {"model.tau": ["1e-4", "1e-3", "1e-2"]} and fixed == {"train.steps": "5"}
    with pytest.raises(ConfigError, match="--seeds"):
        split_axes({"train.seed": "1,2"})
    with pytest.raises(ConfigError, match="fewer than two"):
        split_axes({"model.tau": "1e-3,"})


def test_plan_checks_every_grid_point_before_training(preset, tmp_path):
    runs, fixed = plan(preset, {"model.tau": "0,1e-2", "model.core.hidden_size": "4"}, 2, tmp_path)
    assert len(runs) == 4 and fixed == {"model.core.hidden_size": "4"}
    assert {r.run_dir.name for r in runs} == {
        "tau=0_seed0",
        "tau=0_seed1",
        "tau=1e-2_seed0",
        "tau=1e-2_seed1",
    }
    assert runs[1].overrides == {"model.tau": "0", "train.seed": "1"}
    with pytest.raises(ConfigError, match="tau must be a number >= 0"):
        plan(preset, {"model.tau": "1e-3,-1"}, 1, tmp_path)
    with pytest.raises(ConfigError, match="seeds must be >= 1"):
        plan(preset, {}, 0, tmp_path)


def test_a_sweep_trains_each_point_and_seed_then_skips_what_is_done(preset, tmp_path):
    lines = []
    results = run_sweep(preset, {"model.tau": "0,1e-2"}, 2, tmp_path / "sweep", echo=lines.append)
    assert len(results) == 4 and lines[0].endswith("4 runs, 0 already done")
    assert {r["seed"] for r in results} == {0, 1}
    assert all(r["step"] == 6 and "ponder_steps" in r["metrics"] for r in results)

    lines.clear()
    again = run_sweep(preset, {"model.tau": "0,1e-2"}, 2, tmp_path / "sweep", echo=lines.append)
    assert lines == ["sweep of " + preset + ": 4 runs, 4 already done"]
    assert again == results

    rows, written = write_summary(results, "sequence_error_rate", tmp_path / "sweep")
    assert [row["tau"] for row in rows] == ["0", "1e-2"]
    assert all(row["seeds"] == 2 and 1 <= row["ponder_steps"] <= 5 for row in rows)
    assert [p.name for p in written] == ["sweep.json", "sweep.md", "sweep.png"]
    assert written[2].stat().st_size > 1000
    table = written[1].read_text()
    assert "| tau | seeds | sequence_error_rate |" in table
    assert json.loads(written[0].read_text())["summary"] == rows


def test_summary_takes_mean_and_spread_over_seeds():
    results = [
        {"point": {"model.tau": "1e-3"}, "seed": s, "step": 10, "metrics": {"err": e}}
        for s, e in enumerate([0.1, 0.3])
    ]
    (row,) = summarise(results, "err")
    assert row["err"] == pytest.approx(0.2)
    assert row["err_sd"] == pytest.approx(0.1414, abs=1e-4)
    assert "ponder_steps" not in row


def test_a_run_that_kept_its_best_validation_parameters_is_scored_by_them(tmp_path):
    from augrnn.train.checkpoint import BEST_NAME, save_checkpoint
    from augrnn.train.sweep import SweepRun, _result_of

    run = SweepRun((("model.tau", "0"),), 0, tmp_path / "run")
    run.run_dir.mkdir()
    rows = [
        {"split": "eval", "step": step, "sequences": 8 * step, "elapsed": 1.0, "error": error}
        for step, error in ((5, 0.4), (10, 0.1), (15, 0.3))
    ]
    (run.run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = _result_of(run.point, run.seed, run.run_dir)
    assert result["step"] == 15 and result["metrics"]["error"] == 0.3
    save_checkpoint(run.run_dir, {"model": {}, "step": 10}, BEST_NAME)
    result = _result_of(run.point, run.seed, run.run_dir)
    assert result["step"] == 10 and result["metrics"]["error"] == 0.1


def _without_times(results: list[dict]) -> list[dict]:
    """Sweep results without their wall-clock times, which differ between two trainings."""
    return [
        {
            **{k: v for k, v in r.items() if k != "elapsed"},
            "metrics": {k: v for k, v in r["metrics"].items() if k != "elapsed"},
        }
        for r in results
    ]


def test_a_sweep_on_ray_gives_the_local_backends_results(preset, tmp_path):
    ray = pytest.importorskip(
        "ray", reason="Ray is not installed (pip install 'augrnn[distributed]')"
    )
    grid = {"model.tau": "0,1e-2"}
    local = run_sweep(preset, grid, 2, tmp_path / "local", jobs=2, echo=lambda line: None)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        lines = []
        on_ray = run_sweep(preset, grid, 2, tmp_path / "ray", backend="ray", echo=lines.append)
    finally:
        ray.shutdown()
    assert len(on_ray) == 4 and sum(line.startswith("done ") for line in lines) == 4
    written = {}
    for name, results in (("local", local), ("ray", on_ray)):
        write_summary(results, "sequence_error_rate", tmp_path / name)
        written[name] = json.loads((tmp_path / name / "sweep.json").read_text())
    assert written["ray"]["summary"] == written["local"]["summary"]
    assert _without_times(written["ray"]["runs"]) == _without_times(written["local"]["runs"])
    # each run's folder is the local backend's: config, metrics, checkpoint and result
    assert {p.name for p in (tmp_path / "ray" / "tau=0_seed1").iterdir()} >= {
        "checkpoint.pt",
        "config.json",
        "metrics.jsonl",
        "result.json",
    }


def test_backend_settings_that_do_not_go_together_are_refused(preset, tmp_path):
    with pytest.raises(ConfigError, match="backend must be one of local, ray"):
        run_sweep(preset, {}, 1, tmp_path, backend="slurm")
    with pytest.raises(ConfigError, match="--address names a Ray cluster"):
        run_sweep(preset, {}, 1, tmp_path, address="auto")
    with pytest.raises(ConfigError, match="--jobs is the local backend's"):
        run_sweep(preset, {}, 1, tmp_path, backend="ray", jobs=2)


def test_the_ray_backend_without_ray_says_how_to_install_it(preset, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'augrnn\[distributed\]'"):
        run_sweep(preset, {}, 1, tmp_path, backend="ray", echo=lambda line: None)
