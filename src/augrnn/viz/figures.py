"""``augrnn viz``: run a trained model on one held-out example with tracing on and save figures.

:func:`visualise_run` loads a run folder, draws example ``example`` of the run's held-out set (at
``length`` if given), runs the model on it with a :class:`~augrnn.core.Trace`, draws every
registered view that applies (see :mod:`augrnn.viz.views`) and the learning curves from
``metrics.jsonl``, and writes them as PNGs into ``RUN/viz/``, plus ``report.html``: an
interactive, self-contained page of the same example (see :mod:`augrnn.viz.report`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from augrnn.core import Trace
from augrnn.tasks.base import Batch, Task
from augrnn.tasks.table_qa import TableQATask
from augrnn.tasks.text import Seq2SeqTask
from augrnn.train.loop import evaluation_logits, evaluation_set, load_run, read_metrics
from augrnn.viz.views import VIEWS, applicable_views, new_figure

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


def held_out_example(task: Task, config, example: int, length: int | None) -> Batch:
    """Example ``example`` of the run's held-out set (as ``augrnn eval`` draws it), alone."""
    batch, index = held_out_batch(task, config, example, length)
    return single_example(batch, index, isinstance(task, Seq2SeqTask))


def single_example(batch: Batch, index: int, text_like: bool) -> Batch:
    """Episode ``index`` of ``batch`` as a batch of one, with its trailing padding cut off."""
    pick = slice(index, index + 1)
    inputs = batch.inputs[pick] if batch.inputs.dim() == 4 else batch.inputs[:, pick]
    targets, mask = batch.targets[:, pick], batch.mask[:, pick]
    input_mask = None if batch.input_mask is None else batch.input_mask[:, pick]
    if text_like:
        if input_mask is not None and inputs.dim() == 2:
            keep = _last_nonzero(input_mask)
            inputs, input_mask = inputs[:keep], input_mask[:keep]
        keep = _last_nonzero(mask)
        targets, mask = targets[:keep], mask[:keep]
    elif input_mask is not None:
        keep = _last_nonzero(input_mask)
        inputs, targets, mask, input_mask = (t[:keep] for t in (inputs, targets, mask, input_mask))
    return Batch(inputs, targets, mask, batch.lengths[pick], input_mask)


def _last_nonzero(mask: Tensor) -> int:
    rows = torch.nonzero(mask.reshape(mask.shape[0], -1).any(-1)).flatten()
    return int(rows[-1]) + 1 if len(rows) else mask.shape[0]


@torch.no_grad()
def traced_outputs(model: nn.Module, batch: Batch) -> tuple[Tensor, Trace]:
    """The model's (T, B, V) outputs on ``batch`` as evaluation scores them, and its Trace."""
    from augrnn.attention.seq2seq import Seq2Seq
    from augrnn.attention.show_attend_tell import ShowAttendTell

    trace = Trace()
    steps = batch.targets.shape[0]
    if isinstance(model, Seq2Seq):
        logits, _ = model(batch.inputs, batch.input_mask, max_length=steps, trace=trace)
    elif isinstance(model, ShowAttendTell):
        logits, _ = model(batch.inputs, max_length=steps, trace=trace)
    else:
        logits, _ = model(batch.inputs, trace=trace)
    return logits, trace


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
    if isinstance(task, TableQATask):
        return _visualise_table_run(run_dir, config, task, model, example, length, out)
    if not isinstance(task.sample(1, torch.Generator().manual_seed(0)), Batch):
        raise ValueError(
            f"augrnn viz draws sequence tasks; {task.name} ({config.model.kind}) has no views yet"
        )
    out.mkdir(parents=True, exist_ok=True)
    result = VizResult()
    batch = held_out_example(task, config, example, length)
    logits, trace = traced_outputs(model, batch)
    views = applicable_views(trace, task)
    at = "" if length is None else f" at {task.length_name} {length}"
    for view in views:
        fig = view.fn(trace, batch, task, logits, 0)
        fig.suptitle(f"{fig.get_suptitle()}, held-out example {example}{at}")
        result.paths.append(_save(fig, out / f"{view.name}.png"))
    if not any(view.name not in TASK_VIEWS for view in views):
        what = ", ".join(trace.names) or "nothing"
        result.messages.append(
            f"{config.model.kind} on {task.name} traced {what}: no view draws what it attends to "
            "(register one in augrnn.viz.views); only "
            + ("the inputs and outputs and " if views else "")
            + "the learning curves were drawn"
        )
    curves = learning_curves(run_dir, f"{config.preset or config.model.kind} on {task.name}")
    if curves is None:
        result.messages.append(f"{run_dir} has no metrics.jsonl: no learning curves")
    else:
        result.paths.append(_save(curves, out / "learning_curves.png"))
    from augrnn.viz.report import report_for

    result.paths.append(
        report_for(run_dir, out, config, task, batch, logits, trace, example, length)
    )
    return result


def _visualise_table_run(
    run_dir: Path, config, task: TableQATask, model: nn.Module, example: int, length, out: Path
) -> VizResult:
    """Table QA: held-out question ``example`` with the operation and column weights of each
    step (the ``programmer_selection`` view) and the learning curves; the question, the argmax
    program and the answer go into the messages."""
    if length is not None:
        raise ValueError("--length does not apply to table_qa: its questions have no length")
    batch, index = held_out_batch(task, config, example)
    out.mkdir(parents=True, exist_ok=True)
    result = VizResult()
    with torch.no_grad():
        outputs = evaluation_logits(model, batch)
    result.messages.append(f"question: {task.question_text(batch, index)}")
    program = getattr(model, "program", None)
    if program is None:
        result.messages.append(
            f"{config.model.kind} on {task.name} chooses no operations: only the learning "
            "curves were drawn"
        )
    else:
        trace = Trace()
        with torch.no_grad():
            model(batch, hard=False, trace=trace)
        fig = VIEWS["programmer_selection"].fn(trace, batch, task, outputs, index)
        fig.suptitle(f"held-out question {example}, {fig.get_suptitle()}", fontsize=9)
        result.paths.append(_save(fig, out / "programmer_selection.png"))
        result.messages.append(f"program: {program(batch, index, task.column_names)}")
    result.messages.append(
        f"answer: {task.answer_text(outputs, batch, index)} "
        f"({'right' if bool(task.correct(outputs, batch)[index]) else 'wrong'})"
    )
    curves = learning_curves(run_dir, f"{config.preset or config.model.kind} on {task.name}")
    if curves is not None:
        result.paths.append(_save(curves, out / "learning_curves.png"))
    return result


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    return path
