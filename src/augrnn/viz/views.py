"""Views: figures drawn from a :class:`~augrnn.core.Trace`, chosen by what the Trace holds.

A view is a function ``(trace, batch, task, logits, index) -> matplotlib Figure`` registered with
the names it needs in the Trace. ``augrnn viz`` runs a model on one held-out example with tracing
on and draws every view that applies; views read Traces (and the batch, task and outputs), never
module internals.

Adding a view for a new model: make its core :func:`~augrnn.core.emit` what it attends to (say
``"stack_strengths"``, (B, N) per step), then register a function::

    from augrnn.viz.views import register_view

    @register_view("stack", needs=("stack_strengths",))
    def stack_view(trace, batch, task, logits, index):
        weights = trace.stack("stack_strengths")[:, index]  # (T, N)
        fig = new_figure(...)
        ...
        return fig

``needs`` is a tuple of trace names that must all be present, or a predicate
``(trace, task) -> bool`` for anything subtler. The figure is saved as ``<name>.png``.
Inside ACT a core's names arrive prefixed with ``ponder_`` (stacked over ponder steps); the NTM
view below shows how to accept both.

A model package registers its views in a module of its own, named in its kind's
:attr:`~augrnn.interface.ModelKind.views` (the Neural Programmer's are in
:mod:`augrnn.programmer.views`); a third-party package may also name a module (or a
:class:`View`) in the entry-point group ``augrnn.views``. :func:`applicable_views` imports both
before choosing.
"""

from __future__ import annotations

import importlib
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from augrnn.core import Trace
from augrnn.registry import PluginWarning, models, plugin_objects
from augrnn.tasks.base import Batch, Task
from augrnn.tasks.text import Vocabulary

#: Time axes longer than this are shown every k-th step (and the title says so).
MAX_STEPS_SHOWN = 400

ViewFn = Callable[[Trace, Batch, Task, Tensor, int], Figure]
Needs = tuple[str, ...] | Callable[[Trace, Task], bool]


@dataclass(frozen=True)
class View:
    name: str
    fn: ViewFn
    needs: Needs

    def applies(self, trace: Trace, task: Task) -> bool:
        if callable(self.needs):
            return bool(self.needs(trace, task))
        names = set(trace.names)
        return all(name in names for name in self.needs)


#: Registered views by name, in registration order (the order figures are drawn in).
VIEWS: dict[str, View] = {}


def register_view(name: str, *, needs: Needs) -> Callable[[ViewFn], ViewFn]:
    """Register ``fn`` as view ``name``, drawn when the Trace holds ``needs`` (see the module)."""
    if not callable(needs) and not needs:
        raise ValueError(f"view {name!r} must need at least one trace name (or a predicate)")

    def decorator(fn: ViewFn) -> ViewFn:
        VIEWS[name] = View(name, fn, needs)
        return fn

    return decorator


def load_plugin_views() -> None:
    """Import the view modules of every registered model kind and of the entry-point group
    ``augrnn.views`` (whose entries may also be :class:`View` objects); a module that fails to
    import is left out with a :class:`~augrnn.registry.PluginWarning`."""
    for name, kind in models.items():
        for module in kind.views:
            try:
                importlib.import_module(module)
            except Exception as err:
                warnings.warn(
                    f"the views of model kind {name!r} ({module}) failed to import and are left "
                    f"out ({type(err).__name__}: {err})",
                    PluginWarning,
                    stacklevel=2,
                )
    for entry in plugin_objects("augrnn.views")[0].values():
        if isinstance(entry, View):
            VIEWS.setdefault(entry.name, entry)


def applicable_views(trace: Trace, task: Task) -> list[View]:
    """The registered views (model kinds' and plugins' included) that apply to ``trace``."""
    load_plugin_views()
    return [view for view in VIEWS.values() if view.applies(trace, task)]


# --- helpers ---------------------------------------------------------------------------------


def downsample(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, int]:
    """Every k-th entry along ``axis`` so at most :data:`MAX_STEPS_SHOWN` remain; returns k too."""
    length = values.shape[axis]
    stride = max(1, math.ceil(length / MAX_STEPS_SHOWN))
    if stride == 1:
        return values, 1
    index = [slice(None)] * values.ndim
    index[axis] = slice(None, None, stride)
    return values[tuple(index)], stride


def stride_note(stride: int, total: int) -> str:
    return "" if stride == 1 else f" (1 step in {stride} of {total} shown)"


def new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def strengths_by_push_step(strengths: np.ndarray, newest_last: bool = True) -> np.ndarray:
    """Re-index a structure's rows by the step that pushed them: grid[k, t] is the strength at
    step t of the value pushed at step k (NaN before it was pushed or once shifted out).

    strengths: (T, C) the strengths s_t of one end's rows, C rows each step, rows shifting by
        one per push (a differentiable stack's or queue's): the newest in the last row
        (``newest_last``, a top) or in the first (a deque's bottom).
    Returns (T, T).
    """
    steps, rows = strengths.shape
    grid = np.full((steps, steps), np.nan)
    for t in range(steps):
        pushed = np.arange(max(0, t - rows + 1), t + 1)  # the steps whose values are still held
        row = rows - 1 - (t - pushed) if newest_last else t - pushed
        grid[pushed, t] = strengths[t, row]
    return grid


def held_by_end(strengths: np.ndarray, ends: int) -> list[tuple[str, np.ndarray]]:
    """Per end of a structure, its name and :func:`strengths_by_push_step` of its rows: one end
    ("") for a stack or queue; for a deque ("top", "bottom") the second half of the rows, newest
    last, and the first half, newest first.

    strengths: (T, C) strengths s_t; ends: 1, or 2 for a deque. Each grid is (T, T).
    """
    if ends == 1:
        return [("", strengths_by_push_step(strengths))]
    half = strengths.shape[1] // 2
    return [
        ("top", strengths_by_push_step(strengths[:, half:])),
        ("bottom", strengths_by_push_step(strengths[:, :half], newest_last=False)),
    ]


def heat_map(
    fig,
    ax,
    grid: np.ndarray,
    title: str,
    xlabel: str,
    ylabel: str,
    *,
    stride: int = 1,
    cmap: str = "viridis",
    vmin=None,
    vmax=None,
    label: str = "",
) -> None:
    """``grid`` (rows, columns) drawn with rows down; the x ticks count the original steps."""
    image = ax.imshow(
        grid,
        aspect="auto",
        interpolation="nearest",
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        origin="upper",
    )
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if stride > 1:
        ticks = ax.get_xticks()
        ticks = ticks[(ticks >= 0) & (ticks < grid.shape[1])]
        ax.set_xticks(ticks, [str(int(t * stride)) for t in ticks])
    fig.colorbar(image, ax=ax, label=label, shrink=0.9)


# --- inputs, targets and outputs of vector tasks ----------------------------------------------


def _is_vector_task(trace: Trace, task: Task) -> bool:
    return task.io_kind in ("bits", "classes")


def _targets_and_outputs(task: Task, batch: Batch, logits: Tensor, index: int):
    if task.io_kind == "classes":
        groups, classes = task.groups, task.classes
        targets = torch.nn.functional.one_hot(batch.targets[:, index].clamp_min(0), classes)
        targets = targets.reshape(targets.shape[0], groups * classes).float()
        outputs = logits[:, index].reshape(-1, groups, classes).softmax(-1)
        return targets, outputs.reshape(-1, groups * classes), "class (group x class)", "softmax"
    return batch.targets[:, index].float(), logits[:, index].sigmoid(), "channel", "sigmoid"


@register_view("inputs_targets_outputs", needs=_is_vector_task)
def inputs_targets_outputs(trace, batch, task, logits, index) -> Figure:
    """Inputs, targets and outputs, time across and channels down (NTM paper, Fig. 6 style)."""
    inputs = batch.inputs[:, index].float().numpy()
    targets, outputs, channel_label, squash = _targets_and_outputs(task, batch, logits, index)
    scored = batch.mask[:, index].numpy()
    total = inputs.shape[0]
    fig = new_figure(max(6.0, min(14.0, 0.12 * total + 4)), 7.5)
    axes = fig.subplots(3, 1, sharex=True)
    rows = [
        (inputs, "inputs", "input channel", "value", "RdBu_r", None, None),
        (targets.numpy(), "targets", channel_label, "target", "Greys", 0, 1),
        (
            outputs.numpy() * scored[:, None],
            f"outputs ({squash}; zero where not scored)",
            channel_label,
            "probability",
            "Greys",
            0,
            1,
        ),
    ]
    if inputs.min() >= 0:
        rows[0] = (inputs, "inputs", "input channel", "value", "Greys", None, None)
    for ax, (grid, title, ylabel, label, cmap, vmin, vmax) in zip(axes, rows, strict=True):
        shown, stride = downsample(grid.T, axis=1)
        heat_map(
            fig,
            ax,
            shown,
            f"{title}{stride_note(stride, total)}",
            "time step" if ax is axes[-1] else "",
            ylabel,
            stride=stride,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            label=label,
        )
    fig.suptitle(f"{task.name}: inputs, targets and outputs over time")
    return fig


# --- NTM: write and read weights, memory --------------------------------------------------------


def _ntm_names(trace: Trace, task: Task) -> bool:
    names = set(trace.names)
    return {"write_weights", "read_weights"} <= names or {
        "ponder_write_weights",
        "ponder_read_weights",
    } <= names


def _series(trace: Trace, name: str, index: int) -> tuple[Tensor, list[int]]:
    """Per-step ``name`` of example ``index``, concatenated over time: (S, ...) and, inside ACT,
    where each input step's ponder steps begin (else an empty list).

    Inside ACT the Trace holds ``ponder_<name>`` (n, B, ...) per input step, of which the first
    ``ponder_steps[index]`` belong to the example."""
    if name in trace.names:
        return trace.stack(name)[:, index], []
    pieces, starts, position = [], [], 0
    for step in trace.steps:
        value = step[f"ponder_{name}"][:, index]
        used = int(step["ponder_steps"][index]) if "ponder_steps" in step else value.shape[0]
        used = max(1, min(used, value.shape[0]))
        pieces.append(value[:used])
        starts.append(position)
        position += used
    return torch.cat(pieces), starts


@register_view("ntm_weights", needs=_ntm_names)
def ntm_weights(trace, batch, task, logits, index) -> Figure:
    """Write and read weightings over time, slot down (NTM paper, Fig. 6 in form)."""
    panels = []
    for kind in ("write", "read"):
        weights, starts = _series(trace, f"{kind}_weights", index)  # (S, heads, N)
        for head in range(weights.shape[1]):
            panels.append((kind, head, weights.shape[1], weights[:, head].numpy(), starts))
    total = panels[0][3].shape[0]
    slots = panels[0][3].shape[1]
    time_label = "ponder step (input steps marked)" if panels[0][4] else "time step"
    fig = new_figure(max(6.0, min(14.0, 0.1 * total + 4)), min(3.0 + 0.04 * slots, 6) * len(panels))
    axes = np.atleast_1d(fig.subplots(len(panels), 1, sharex=True))
    for ax, (kind, head, heads, grid, starts) in zip(axes, panels, strict=True):
        shown, stride = downsample(grid.T, axis=1)
        head_note = f" head {head}" if heads > 1 else ""
        heat_map(
            fig,
            ax,
            shown,
            f"{kind}{head_note} weights{stride_note(stride, total)}",
            time_label if ax is axes[-1] else "",
            "memory slot",
            stride=stride,
            cmap="magma",
            vmin=0,
            vmax=1,
            label="weight",
        )
        for start in starts[1:] if len(starts) <= 100 else []:
            ax.axvline(start / stride - 0.5, color="white", linewidth=0.4, alpha=0.5)
    fig.suptitle(f"{task.name}: where the memory is written and read")
    return fig


@register_view(
    "ntm_memory", needs=lambda trace, task: bool({"memory", "ponder_memory"} & set(trace.names))
)
def ntm_memory(trace, batch, task, logits, index) -> Figure:
    """Memory contents after the last step, slot down and width across."""
    memory, _ = _series(trace, "memory", index)
    last = memory[-1].numpy()  # (N, M)
    limit = float(np.abs(last).max()) or 1.0
    fig = new_figure(min(10.0, 3 + 0.25 * last.shape[1]), min(10.0, 2 + 0.08 * last.shape[0]))
    ax = fig.subplots()
    heat_map(
        fig,
        ax,
        last,
        "memory after the last step",
        "memory width",
        "memory slot",
        cmap="RdBu_r",
        vmin=-limit,
        vmax=limit,
        label="value",
    )
    fig.suptitle(f"{task.name}: memory contents")
    return fig


# --- ACT: pondering --------------------------------------------------------------------------


@register_view("act_pondering", needs=("ponder_steps", "halting_probabilities"))
def act_pondering(trace, batch, task, logits, index) -> Figure:
    """Ponder steps per input step (bars) and the halting probabilities p_t^n (heat map)."""
    steps = trace.stack("ponder_steps")[:, index].numpy()  # (T,)
    probs = trace.stack("halting_probabilities")[:, index].numpy()  # (T, M)
    deepest = int(max(1, steps.max()))
    probs = probs[:, : deepest + 1 if deepest < probs.shape[1] else deepest]
    total = steps.shape[0]
    shown_steps, stride = downsample(steps)
    shown_probs, _ = downsample(probs)
    fig = new_figure(max(6.0, min(14.0, 0.15 * total + 4)), 6.5)
    top, bottom = fig.subplots(2, 1)
    top.bar(np.arange(len(shown_steps)) * stride, shown_steps, width=0.8 * stride, color="tab:blue")
    top.set_xlim(-0.5 * stride, total - 0.5)
    top.set_title(
        f"ponder steps N(t) per input step{stride_note(stride, total)}; mean {steps.mean():.2f}"
    )
    top.set_xlabel("input step")
    top.set_ylabel("ponder steps")
    heat_map(
        fig,
        bottom,
        shown_probs.T,
        "halting probabilities p_t^n",
        "input step",
        "ponder step n",
        stride=stride,
        cmap="Blues",
        vmin=0,
        vmax=1,
        label="probability",
    )
    bottom.set_yticks(
        range(shown_probs.shape[1]),
        [str(n + 1) for n in range(shown_probs.shape[1])] if shown_probs.shape[1] <= 20 else None,
    )
    fig.suptitle(f"Adaptive computation time on {task.name}")
    return fig


# --- attention -------------------------------------------------------------------------------


def _attention_dims(trace: Trace) -> int:
    if "attention" not in trace.names:
        return 0
    return next(step["attention"].dim() for step in trace.steps if "attention" in step)


def token_label(vocab: Vocabulary, token_id: int) -> str:
    if token_id == Vocabulary.PAD:
        return "<pad>"
    if token_id == Vocabulary.BOS:
        return "<bos>"
    if token_id == Vocabulary.EOS:
        return "<eos>"
    if 0 <= token_id - Vocabulary.SPECIALS < len(vocab.symbols):
        symbol = vocab.symbols[token_id - Vocabulary.SPECIALS]
        return "␣" if symbol.isspace() else symbol
    return "?"


def _output_labels(task: Task, batch: Batch, logits: Tensor, index: int, steps: int) -> list[str]:
    vocab = getattr(task, "target_vocab", None)
    predicted = logits[:steps, index].argmax(-1).tolist()
    targets = batch.targets[:steps, index].tolist()
    if vocab is None:
        return [str(p) for p in predicted]
    labels = []
    for p, t in zip(predicted, targets, strict=True):
        out, want = token_label(vocab, p), token_label(vocab, t)
        labels.append(out if out == want else f"{out} (want {want})")
    return labels


def _output_steps(batch: Batch, index: int, available: int) -> int:
    real = int(batch.mask[:, index].sum())
    return max(1, min(real or available, available))


@register_view("attention", needs=lambda trace, task: _attention_dims(trace) == 2)
def attention_matrix(trace, batch, task, logits, index) -> Figure:
    """Attention over source positions (across) at each output step (down), tokens labelled."""
    weights = trace.stack("attention")[:, index]  # (T, S)
    steps = _output_steps(batch, index, weights.shape[0])
    source_length = weights.shape[1]
    if batch.input_mask is not None:
        source_length = max(1, int(batch.input_mask[:, index].sum()))
    grid = weights[:steps, :source_length].numpy()
    fig = new_figure(min(16.0, 3 + 0.3 * source_length), min(14.0, 2.5 + 0.3 * steps))
    ax = fig.subplots()
    heat_map(
        fig,
        ax,
        grid,
        "attention weights",
        "source position",
        "output step (predicted token)",
        cmap="Greys",
        vmin=0,
        vmax=1,
        label="weight",
    )
    vocab = getattr(task, "source_vocab", None) if batch.inputs.dim() == 2 else None
    if vocab is not None and source_length <= 120:
        source = batch.inputs[:source_length, index].tolist()
        ax.set_xticks(range(source_length), [token_label(vocab, s) for s in source], fontsize=8)
    if steps <= 80:
        ax.set_yticks(range(steps), _output_labels(task, batch, logits, index, steps), fontsize=8)
    fig.suptitle(f"{task.name}: where each output step attends")
    return fig


@register_view("image_attention", needs=lambda trace, task: _attention_dims(trace) == 3)
def image_attention(trace, batch, task, logits, index) -> Figure:
    """The image, then each output step's attention map upsampled over it (small multiples)."""
    image = batch.inputs[index].float().mean(0).numpy()  # (H, W)
    weights = trace.stack("attention")[:, index]  # (T, H', W')
    steps = _output_steps(batch, index, weights.shape[0])
    labels = _output_labels(task, batch, logits, index, steps)
    maps = (
        torch.nn.functional.interpolate(
            weights[:steps].unsqueeze(1), size=image.shape, mode="nearest"
        )
        .squeeze(1)
        .numpy()
    )
    columns = min(4, steps + 1)
    rows = math.ceil((steps + 1) / columns)
    aspect = image.shape[1] / image.shape[0]
    fig = new_figure(min(16.0, 1.2 + columns * 0.6 * aspect), 0.6 + rows * 1.3)
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    axes[0].imshow(image, cmap="Greys", interpolation="nearest")
    axes[0].set_title("input image")
    vmax = float(maps.max()) or 1.0
    last = None
    for t in range(steps):
        ax = axes[t + 1]
        ax.imshow(image, cmap="Greys", interpolation="nearest")
        last = ax.imshow(
            maps[t], cmap="inferno", alpha=0.6, vmin=0, vmax=vmax, interpolation="nearest"
        )
        ax.set_title(f"step {t}: {labels[t]}", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[steps + 1 :]:
        ax.set_visible(False)
    axes[0].set_xlabel("image column")
    if last is not None:
        fig.colorbar(last, ax=list(axes[: steps + 1]), label="attention weight", shrink=0.8)
    fig.suptitle(f"{task.name}: attention at each output step")
    return fig


# --- attention over audio --------------------------------------------------------------------


def spectrogram_alignment(
    features: np.ndarray, labels: list[str], weights: np.ndarray, title: str
) -> Figure:
    """Where a speller listened: ``weights`` (L, U) of each output character over the
    listener's U steps, drawn over the audio's frames (characters down, frames across), and the
    (T, F) ``features`` (a log-mel spectrogram) beneath on the same time axis. Each listener
    step covers ⌈T / U⌉ frames."""
    frames, steps = features.shape[0], max(weights.shape[1], 1)
    per_step = math.ceil(frames / steps)
    spread = np.repeat(weights, per_step, axis=1)[:, :frames]  # (L, T)
    fig = new_figure(max(6.0, min(16.0, frames / 40)), 2.2 + 0.18 * len(labels))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[max(len(labels), 4), 4])
    seconds = frames / 100
    extent = (0, seconds, len(labels) - 0.5, -0.5)
    top.imshow(spread, aspect="auto", interpolation="nearest", cmap="Oranges", extent=extent)
    top.set_yticks(range(len(labels)), labels, fontsize=7)
    top.set_ylabel("output character")
    top.set_title(f"attention over {steps} listener steps ({per_step} frames each)")
    bottom.imshow(
        features.T,
        aspect="auto",
        origin="lower",
        cmap="magma",
        extent=(0, seconds, 0, features.shape[1]),
    )
    bottom.set_ylabel("mel bin")
    bottom.set_xlabel("time (s)")
    fig.suptitle(title)
    return fig
