"""Views for ``augrnn viz`` of the stack, queue and deque LSTMs and of the stack RNN (registered
by their model kinds, see :mod:`augrnn.viz.views`): what is pushed, held, popped and read."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from augrnn.memory.structures import STACK_ACTIONS
from augrnn.viz.views import heat_map, held_by_end, new_figure, register_view

#: Stacks of a stack RNN drawn at most.
MAX_STACKS_SHOWN = 4


@register_view("structure_contents", needs=("push_strengths", "pop_strengths", "strengths"))
def structure_contents(trace, batch, task, logits, index) -> Figure:
    """The strength of each pushed value over time (its row is the step that pushed it), the
    push and pop strengths d_t and u_t, and the values pushed v_t and read r_t, for each end of
    the structure (one for a stack or queue, the top and the bottom of a deque)."""
    pushes = trace.stack("push_strengths")[:, index].numpy()  # (T, E)
    pops = trace.stack("pop_strengths")[:, index].numpy()  # (T, E)
    strengths = trace.stack("strengths")[:, index].numpy()  # (T, C)
    reads = trace.stack("reads")[:, index].numpy()  # (T, E, m)
    values = trace.stack("pushed_values")[:, index].numpy()  # (T, E, m)
    steps, ends = pushes.shape
    fig = new_figure(max(7.0, min(14.0, 0.12 * steps + 5)), 2.6 + 4.2 * ends)
    panels = fig.subplots(4 * ends, 1, height_ratios=[3, 1.2, 1.5, 1.5] * ends, sharex=True)
    for end, (name, grid) in enumerate(held_by_end(strengths, ends)):
        at = f" ({name})" if name else ""
        ax = panels[4 * end : 4 * end + 4]
        heat_map(
            fig, ax[0], grid, f"strength of each pushed value{at}", "", "pushed at step",
            cmap="viridis", vmin=0, vmax=1, label="s_t",
        )  # fmt: skip
        ax[1].plot(pushes[:, end], label="push d_t")
        ax[1].plot(pops[:, end], label="pop u_t")
        ax[1].set_ylim(-0.05, 1.05)
        ax[1].legend(loc="upper right", fontsize=7)
        ax[1].set_title(f"push and pop strengths{at}", fontsize=9)
        heat_map(
            fig, ax[2], values[:, end].T, f"values pushed v_t{at}", "", "feature",
            cmap="coolwarm", vmin=-1, vmax=1, label="v_t",
        )  # fmt: skip
        bound = max(1e-6, float(np.abs(reads[:, end]).max()))
        heat_map(
            fig, ax[3], reads[:, end].T, f"read r_t{at}", "", "feature",
            cmap="coolwarm", vmin=-bound, vmax=bound, label="r_t",
        )  # fmt: skip
    panels[-1].set_xlabel("time step")
    fig.suptitle(f"{'deque' if ends == 2 else 'stack or queue'} on {task.name}")
    return fig


@register_view("stack_rnn_stacks", needs=("stack_actions", "stacks"))
def stack_rnn_stacks(trace, batch, task, logits, index) -> Figure:
    """For the first stacks of a stack RNN: the action probabilities (push, pop, no-op) at each
    step and the stack's cells over time (the top cell first; −1 is an empty cell)."""
    actions = trace.stack("stack_actions")[:, index].numpy()  # (T, K, A)
    stacks = trace.stack("stacks")[:, index].numpy()  # (T, K, D)
    steps, count, choices = actions.shape
    shown = min(count, MAX_STACKS_SHOWN)
    depth = min(stacks.shape[-1], max(8, steps))
    fig = new_figure(max(7.0, min(14.0, 0.12 * steps + 5)), 1.0 + 3.2 * shown)
    panels = fig.subplots(2 * shown, 1, height_ratios=[1.2, 2] * shown, sharex=True)
    time = np.arange(steps)
    for k in range(shown):
        ax = panels[2 * k]
        ax.stackplot(time, actions[:, k].T, labels=STACK_ACTIONS[:choices], alpha=0.85)
        ax.set_ylim(0, 1)
        ax.set_title(f"stack {k}: actions", fontsize=9)
        if k == 0:
            ax.legend(loc="upper right", fontsize=7)
        heat_map(
            fig, panels[2 * k + 1], stacks[:, k, :depth].T, f"stack {k}: cells (top first)",
            "", "depth", cmap="coolwarm", vmin=-1, vmax=1, label="value",
        )  # fmt: skip
    panels[-1].set_xlabel("time step")
    fig.suptitle(f"stack RNN on {task.name}: {shown} of {count} stacks")
    return fig
