"""Sweeps: one preset trained over a grid of settings and seeds, summarised as a table and a plot.

An override whose value holds commas is an axis of the grid: ``--model.tau=1e-4,1e-3,1e-2``
trains every listed value, for each of ``seeds`` seeds (``train.seed`` = 0, 1, ...). Each run
lives in its own folder under the sweep folder and writes ``result.json`` when it ends, so a sweep
run again skips what is done. The summary gives, per grid point, the mean and spread over seeds of
the task's headline metric and of the mean ponder time when the model ponders (ACT paper,
Figs. 4-6 in form).

Two backends train the runs: ``local`` (this machine, ``jobs`` processes at a time) and ``ray``
(each run a Ray task on a Ray cluster, or on a Ray instance started on this machine, with the
CPUs and GPUs asked per run; Ray is the optional extra ``augrnn[distributed]``). Both give the
same results for the same runs, gathered into the same summary on this machine.
"""

from __future__ import annotations

import itertools
import json
import statistics
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from augrnn.train.config import Config, ConfigError, config_from_dict, load_preset
from augrnn.train.loop import Trainer
from augrnn.train.runs import best_evaluation, read_metrics

RESULT_NAME = "result.json"
PONDER_METRIC = "ponder_steps"
BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class SweepRun:
    """One training run of a sweep: its grid point, seed and folder."""

    point: tuple[tuple[str, str], ...]
    seed: int
    run_dir: Path

    @property
    def overrides(self) -> dict[str, str]:
        return {**dict(self.point), "train.seed": str(self.seed)}


def split_axes(overrides: dict[str, str]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Overrides with comma-separated values (the grid's axes) and the rest (fixed)."""
    axes, fixed = {}, {}
    for key, text in overrides.items():
        if "," in text:
            values = [v.strip() for v in text.split(",") if v.strip()]
            if len(values) < 2:
                raise ConfigError(f"--{key}={text} lists fewer than two values")
            axes[key] = values
        else:
            fixed[key] = text
    if "train.seed" in axes or "train.seed" in fixed:
        raise ConfigError("a sweep sets train.seed itself; choose the number with --seeds")
    return axes, fixed


def plan(
    preset: str, overrides: dict[str, str], seeds: int, out_dir: Path
) -> tuple[list[SweepRun], dict[str, str]]:
    """Every run of the sweep, checked against the preset before anything trains."""
    if seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {seeds}")
    axes, fixed = split_axes(overrides)
    runs = []
    for values in itertools.product(*axes.values()) if axes else [()]:
        point = tuple(zip(axes, values, strict=True))
        # Fail now, not after hours of training, if any grid point is not a valid config.
        load_preset(preset, {**fixed, **dict(point)})
        name = "_".join(f"{key.split('.')[-1]}={value}" for key, value in point) or "run"
        for seed in range(seeds):
            runs.append(SweepRun(point, seed, out_dir / f"{name}_seed{seed}"))
    return runs, fixed


def run_sweep(
    preset: str,
    overrides: dict[str, str],
    seeds: int,
    out_dir: Path | str,
    *,
    jobs: int = 1,
    backend: str = "local",
    address: str | None = None,
    cpus_per_run: int = 1,
    gpus_per_run: float = 0.0,
    echo: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Train every run not yet done and return all runs' results. ``backend="local"``: here,
    ``jobs`` at a time (each in its own process with one CPU thread when ``jobs`` > 1);
    ``"ray"``: as Ray tasks of ``cpus_per_run`` CPUs (as many torch threads) and
    ``gpus_per_run`` GPUs each (on ``cuda`` when > 0), on the Ray cluster at ``address`` (None:
    the instance this process already joined, else a new one on this machine)."""
    if backend not in BACKENDS:
        raise ConfigError(f"the backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "local" and address is not None:
        raise ConfigError("--address names a Ray cluster: use it with --backend ray")
    if backend == "ray" and jobs != 1:
        raise ConfigError(
            "--jobs is the local backend's; Ray runs as many at a time as the cluster has "
            "CPUs (--cpus-per-run each)"
        )
    out_dir = Path(out_dir).resolve()
    runs, fixed = plan(preset, overrides, seeds, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    todo = [run for run in runs if not (run.run_dir / RESULT_NAME).is_file()]
    echo(f"sweep of {preset}: {len(runs)} runs, {len(runs) - len(todo)} already done")

    def finish(run: SweepRun, result: dict[str, Any]) -> None:
        run.run_dir.mkdir(parents=True, exist_ok=True)
        (run.run_dir / RESULT_NAME).write_text(json.dumps(result, indent=2))
        echo(f"done {run.run_dir.name}: " + _describe(result))

    def train_one(run: SweepRun) -> None:
        settings = {**fixed, **run.overrides}
        if jobs == 1:
            result = _train_and_score(
                load_preset(preset, settings), run.point, run.seed, run.run_dir
            )
        else:
            _train_in_subprocess(preset, {**settings, "train.threads": "1"}, run.run_dir)
            result = _result_of(run.point, run.seed, run.run_dir)
        finish(run, result)

    if backend == "ray":
        configs = {}
        for run in todo:
            settings = {**fixed, **run.overrides, "train.threads": str(cpus_per_run)}
            if gpus_per_run > 0 and "train.device" not in settings:
                settings["train.device"] = "cuda"
            configs[run] = load_preset(preset, settings)
        _train_on_ray(configs, address, cpus_per_run, gpus_per_run, finish)
    elif jobs == 1:
        for run in todo:
            train_one(run)
    else:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for future in [pool.submit(train_one, run) for run in todo]:
                future.result()
    return [json.loads((run.run_dir / RESULT_NAME).read_text()) for run in runs]


def train_run(config: dict[str, Any], point: dict[str, str], seed: int, run_dir: str) -> dict:
    """Train one run of a sweep (resuming its checkpoint if it has one) and return its result:
    the body of a Ray task, in whichever process and machine Ray gives it."""
    return _train_and_score(config_from_dict(config), tuple(point.items()), seed, Path(run_dir))


def _train_and_score(
    config: Config, point: tuple[tuple[str, str], ...], seed: int, run_dir: Path
) -> dict[str, Any]:
    """Train ``config`` in ``run_dir`` in this process (resuming its checkpoint if it has one)
    and return the run's result."""
    Trainer(config, run_dir, resume=_has_checkpoint(run_dir)).train(progress=False)
    return _result_of(point, seed, run_dir)


def _train_on_ray(
    configs: dict[SweepRun, Config],
    address: str | None,
    cpus: int,
    gpus: float,
    finish: Callable[[SweepRun, dict[str, Any]], None],
) -> None:
    """Each run as a Ray task of ``cpus`` CPUs and ``gpus`` GPUs; ``finish`` each result here as
    it comes back."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--backend ray needs Ray, which is not installed: pip install 'augrnn[distributed]'"
        ) from None
    started = not ray.is_initialized()
    if started:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise ConfigError(f"cannot start or reach Ray (address {address}): {err}") from err
    try:
        task = ray.remote(num_cpus=cpus, num_gpus=gpus)(train_run)
        pending = {
            task.remote(config.to_dict(), dict(run.point), run.seed, str(run.run_dir)): run
            for run, config in configs.items()
        }
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            run = pending.pop(done[0])
            try:
                result = ray.get(done[0])
            except ray.exceptions.RayError as err:
                raise RuntimeError(f"run {run.run_dir} failed on Ray: {err}") from err
            finish(run, result)
    finally:
        if started:
            ray.shutdown()


def _has_checkpoint(run_dir: Path) -> bool:
    return (run_dir / "checkpoint.pt").is_file()


def _train_in_subprocess(preset: str, settings: dict[str, str], run_dir: Path) -> None:
    command = [sys.executable, "-m", "augrnn.cli"]
    command += ["resume", str(run_dir)] if _has_checkpoint(run_dir) else ["train", preset]
    if not _has_checkpoint(run_dir):
        command += ["--run-dir", str(run_dir)]
    command += ["--no-progress", *(f"--{key}={value}" for key, value in settings.items())]
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / "train.log").open("a") as log:
        finished = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
    if finished.returncode != 0:
        raise RuntimeError(f"run {run_dir} failed; see {run_dir / 'train.log'}")


def _result_of(point: tuple[tuple[str, str], ...], seed: int, run_dir: Path) -> dict[str, Any]:
    evals = [r for r in read_metrics(run_dir) if r["split"] == "eval"]
    if not evals:
        raise RuntimeError(f"run {run_dir} ended without an evaluation")
    # a run that kept its best validation parameters is scored by those
    last = best_evaluation(run_dir) or evals[-1]
    return {
        "point": dict(point),
        "seed": seed,
        "step": last["step"],
        "sequences": last["sequences"],
        "elapsed": last["elapsed"],
        "metrics": {k: v for k, v in last.items() if k not in ("split", "step", "sequences")},
    }


def _describe(result: dict[str, Any]) -> str:
    shown = {k: v for k, v in result["metrics"].items() if k != "elapsed"}
    return ", ".join(f"{k} {v:.4g}" for k, v in shown.items())


def summarise(results: list[dict[str, Any]], headline: str) -> list[dict[str, Any]]:
    """One row per grid point: its settings, the seeds, and mean and standard deviation over
    seeds of the headline metric and (when present) the ponder time."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for result in results:
        groups.setdefault(tuple(result["point"].items()), []).append(result)
    rows = []
    for point, members in groups.items():
        row: dict[str, Any] = {key.split(".")[-1]: value for key, value in point}
        row["seeds"] = len(members)
        for metric in (headline, PONDER_METRIC):
            values = [m["metrics"][metric] for m in members if metric in m["metrics"]]
            if values:
                row[metric] = statistics.fmean(values)
                row[f"{metric}_sd"] = statistics.stdev(values) if len(values) > 1 else 0.0
        row["steps"] = statistics.fmean(m["step"] for m in members)
        rows.append(row)
    return rows


def markdown_table(rows: list[dict[str, Any]]) -> str:
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row[c]) for c in columns) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


def plot_sweep(rows: list[dict[str, Any]], axis: str, headline: str, path: Path) -> Path | None:
    """Headline metric and ponder time against the one swept setting ``axis``, mean ± sd over
    seeds; log-scaled x when the values are positive and span more than a factor of 10.
    Returns None when the axis is not numeric."""
    try:
        xs = [float(row[axis]) for row in rows]
    except ValueError:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = sorted(range(len(rows)), key=lambda i: xs[i])
    metrics = [m for m in (headline, PONDER_METRIC) if m in rows[0]]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        ax.errorbar(
            [xs[i] for i in order],
            [rows[i][metric] for i in order],
            yerr=[rows[i][f"{metric}_sd"] for i in order],
            marker="o",
            capsize=3,
        )
        if min(xs) > 0 and max(xs) / min(xs) > 10:
            ax.set_xscale("log")
        ax.set_xlabel(axis)
        ax.set_ylabel(metric.replace("_", " "))
        ax.grid(alpha=0.3)
    seeds = rows[0]["seeds"]
    fig.suptitle(f"mean ± sd over {seeds} seed{'s' if seeds > 1 else ''}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_summary(
    results: list[dict[str, Any]], headline: str, out_dir: Path
) -> tuple[list[dict[str, Any]], list[Path]]:
    """Write ``sweep.json`` (every run), ``sweep.md`` (the table) and, for a sweep over one
    numeric setting, ``sweep.png``; returns the rows and the files written."""
    rows = summarise(results, headline)
    written = [out_dir / "sweep.json", out_dir / "sweep.md"]
    written[0].write_text(json.dumps({"runs": results, "summary": rows}, indent=2))
    written[1].write_text(markdown_table(rows) + "\n")
    axes = list(results[0]["point"])
    if len(axes) == 1:
        plotted = plot_sweep(rows, axes[0].split(".")[-1], headline, out_dir / "sweep.png")
        if plotted is not None:
            written.append(plotted)
    return rows, written
