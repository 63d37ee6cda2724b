"""The view of the RL-NTM for ``augrnn viz`` (registered by its model kind, see
:mod:`augrnn.viz.views`): where its heads are on the input and memory tapes at each step, when
it emits, and how sure its choices are."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from augrnn.tasks.tapes import symbol_labels
from augrnn.viz.views import heat_map, new_figure, register_view


def tape_panels(trace, batch, index: int) -> dict[str, np.ndarray]:
    """What the view draws of episode ``index``, each with one row per step: the input head
    (``input_head``, (T, L) one-hot) and, with a memory tape, the memory head
    (``memory_head``, (T, T) one-hot),
    the emissions (``emit``, (T,)), the input move's probabilities (``input_move``, (T, 3):
    back, stay, forward) and the probability of emitting (``emit_probability``, (T,))."""
    steps = len(trace)
    cells = int(batch.tape_lengths[index])
    input_head = trace.stack("rl_input_head")[:, index].numpy()
    panels = {}
    if "rl_memory_head" in trace.names:
        panels["memory_head"] = np.eye(steps)[trace.stack("rl_memory_head")[:, index].numpy()]
    return {
        **panels,
        "input_head": np.eye(cells)[input_head],
        "emit": trace.stack("rl_emit")[:, index].numpy().astype(float),
        "input_move": trace.stack("rl_input_move")[:, index].numpy(),
        "emit_probability": trace.stack("rl_emit_probability")[:, index].numpy(),
    }


@register_view("rl_ntm_tapes", needs=("rl_input_head", "rl_emit", "rl_input_move"))
def rl_ntm_tapes(trace, batch, task, logits, index) -> Figure:
    """The RL-NTM's input head over the tape at each step (steps down; a copy walks the
    diagonal, a reversal walks to ∅ and back), the steps it emitted at, its memory head, and
    the probabilities of its choices (the greedy choice is the most probable)."""
    panels = tape_panels(trace, batch, index)
    steps, cells = panels["input_head"].shape
    fig = new_figure(12.0, min(16.0, 4.0 + 0.25 * steps))
    memory = "memory_head" in panels
    widths = [max(cells, 3), 3, 2] + ([max(steps, 3)] if memory else [])
    axes = fig.subplots(1, len(widths), gridspec_kw={"width_ratios": widths})
    tape = symbol_labels(batch.tape[:cells, index])
    heat_map(
        fig, axes[0], panels["input_head"], "input head", "input tape", "step", vmin=0, vmax=1,
        label="",
    )  # fmt: skip
    axes[0].set_xticks(range(cells), tape, fontsize=7)
    heat_map(
        fig, axes[1], panels["input_move"], "P(move)", "", "step", vmin=0, vmax=1, label="p",
    )  # fmt: skip
    axes[1].set_xticks(range(3), ["back", "stay", "fwd"], fontsize=7)
    emits = np.stack([panels["emit_probability"], panels["emit"]], axis=1)
    heat_map(fig, axes[2], emits, "emit", "", "step", vmin=0, vmax=1, label="")
    axes[2].set_xticks(range(2), ["P", "did"], fontsize=7)
    if memory:
        heat_map(
            fig, axes[3], panels["memory_head"], "memory head", "memory tape", "step", vmin=0,
            vmax=1, label="",
        )  # fmt: skip
    fig.suptitle(
        f"RL-NTM on {task.name}: {steps} steps, {int(panels['emit'].sum())} symbols emitted"
    )
    return fig
