"""``augrnn viz``: run a trained model on one held-out example with tracing on and save figures.

:func:`visualise_run` loads a run folder, draws example ``example`` of the run's held-out set (at
``length`` if given; ``task.example`` says how the episode is shown), runs the model on it with
``model.traced`` (see :class:`~augrnn.interface.Model`), draws every registered view that
applies (see :mod:`augrnn.viz.views`) and the learning curves from ``metrics.jsonl``, and writes
them as PNGs into ``RUN/viz/``, plus, for sequence tasks, ``report.html``: an interactive,
self-contained page of the same example (see :mod:`augrnn.viz.report`). What the task and the
model say about the example (a question, its answer, the program run) comes back as messages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from augrnn.core import Trace
from augrnn.interface import Model
from augrnn.registry import describe_model
from augrnn.tasks.base import Batch, Task
from augrnn.train.evaluation import evaluation_set
from augrnn.train.runs import load_run, read_metrics
from augrnn.viz.views import applicable_views, new_figure

VIZ_DIR = "viz"
#: Views drawn from the task's data alone, whatever the model traced.
TASK_VIEWS = {"inputs_targets_outputs"}
#: Metrics logged with each record that are bookkeeping, not measurements.
NOT_PLOTTED = {"split", "step", "sequences", "elapsed", "lr"}


@dataclass
class VizResult:
    paths: list[Path] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def held_out_batch(task: Task, config, example: int, length: int | None = None):
    """The batch of the run's held-out set (as ``augrnn eval`` draws it) that holds example
    ``example``, and the example's index in it."""
    if example < 0:
        raise ValueError(f"--example must be >= 0, got {example}")
    size = config.train.eval_batch_size
    config.train.eval_sequences = (example // size + 1) * size
    return evaluation_set(task, config, length)[example // size], example % size


def held_out_example(task: Task, config, example: int, length: int | None) -> tuple[Any, int]:
    """Example ``example`` of the run's held-out set (as ``augrnn eval`` draws it), as the task
    shows it (:meth:`~augrnn.tasks.base.Task.example`): a batch and the episode's index in it."""
    batch, index = held_out_batch(task, config, example, length)
    return task.example(batch, index)


@torch.no_grad()
def traced_outputs(model: Model, batch: Any) -> tuple[Any, Trace]:
    """The model's outputs on ``batch`` as evaluation scores them, and its Trace."""
    return model.traced(batch)


def learning_curves(run_dir: Path, title: str) -> Figure | None:
    """Training cost and each held-out metric against sequences seen, from ``metrics.jsonl``."""
    records = read_metrics(run_dir)
    if not records:
        return None
    train = [r for r in records if r["split"] == "train"]
    evals = [r for r in records if r["split"] == "eval"]
    names = ["cost_bits (train)"] if train else []
    names += [n for n in dict.fromkeys(k for r in evals for k in r) if n not in NOT_PLOTTED]
    columns = min(3, len(names))
    rows = math.ceil(len(names) / columns)
    fig = new_figure(4.2 * columns, 3.0 * rows + 0.5)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    for ax, name in zip(axes, names, strict=False):
        source = train if name == "cost_bits (train)" else evals
        key = "cost_bits" if source is train else name
        points = [(r["sequences"], r[key]) for r in source if isinstance(r.get(key), int | float)]
        if points:
            xs, ys = zip(*points, strict=True)
            style = "-" if source is train else "o-"
            ax.plot(xs, ys, style, markersize=3, color="tab:blue" if source is train else "tab:red")
            positive = all(y > 0 for y in ys)
            if positive and max(ys) / min(ys) > 100:
                ax.set_yscale("log")
        ax.set_title(name if source is train else f"{name} (held out)")
        ax.set_xlabel("sequences seen")
        ax.set_ylabel(name.split(" ")[0])
        ax.grid(alpha=0.3)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(f"learning curves: {title}")
    return fig


def visualise_run(
    run_dir: Path | str,
    example: int = 0,
    length: int | None = None,
    out_dir: Path | str | None = None,
) -> VizResult:
    """Write the figures of ``run_dir`` (see the module) and return their paths and messages."""
    run_dir = Path(run_dir)
    config, task, model, _ = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else run_dir / VIZ_DIR
    out.mkdir(parents=True, exist_ok=True)
    result = VizResult()
    batch, index = held_out_example(task, config, example, length)
    outputs, trace = traced_outputs(model, batch)
    result.messages += task.describe_example(batch, index, outputs)
    result.messages += model.describe_example(task, batch, index)
    views = applicable_views(trace, task)
    at = "" if length is None else f" at {task.length_name} {length}"
    for view in views:
        fig = view.fn(trace, batch, task, outputs, index)
        title = f"{fig.get_suptitle()}, held-out example {example}{at}"
        fig.suptitle(title, **({"fontsize": 9} if "\n" in title else {}))
        result.paths.append(_save(fig, out / f"{view.name}.png"))
    model_name = describe_model(config.model)
    if not any(view.name not in TASK_VIEWS for view in views):
        what = ", ".join(trace.names) or "nothing"
        result.messages.append(
            f"{model_name} on {task.name} traced {what}: no view draws what it attends to "
            "(register one in augrnn.viz.views); only "
            + ("the inputs and outputs and " if views else "")
            + "the learning curves were drawn"
        )
    curves = learning_curves(run_dir, f"{config.preset or model_name} on {task.name}")
    if curves is None:
        result.messages.append(f"{run_dir} has no metrics.jsonl: no learning curves")
    else:
        result.paths.append(_save(curves, out / "learning_curves.png"))
    if _is_sequence_batch(batch) or task.io_kind in ("memory", "tape"):
        from augrnn.viz.report import report_for

        result.paths.append(
            report_for(run_dir, out, config, task, batch, outputs, trace, example, length, model)
        )
    return result


def _is_sequence_batch(batch) -> bool:
    """Whether ``batch`` holds sequences as a :class:`Batch` does (time-major ``inputs``,
    ``targets`` and ``mask``; a story batch holds them beside its own fields)."""
    return isinstance(batch, Batch) or all(
        isinstance(getattr(batch, name, None), torch.Tensor)
        for name in ("inputs", "targets", "mask")
    )


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    return path
