"""The DNC's view for ``augrnn viz`` (registered by the model kind ``dnc``, see
:mod:`augrnn.viz.views`): how it manages its memory. Where it writes and reads is drawn by the
memory-weights view every memory core shares."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from augrnn.memory.dnc_addressing import READ_MODES
from augrnn.viz.views import downsample, heat_map, new_figure, register_view, stride_note


@register_view(
    "dnc_memory_management",
    needs=("usage", "allocation_gate", "write_gate", "read_modes", "link"),
)
def dnc_memory_management(trace, batch, task, logits, index) -> Figure:
    """Usage u_t of each slot over time; the write gate g^w_t and the share of writing that goes
    by allocation rather than content, g^a_t; each read head's modes π_t (backward, content,
    forward); and the temporal link matrix L_T after the last step."""
    usage = trace.stack("usage")[:, index].numpy()  # (T, N)
    write_gate = trace.stack("write_gate")[:, index].numpy()  # (T,)
    allocation_gate = trace.stack("allocation_gate")[:, index].numpy()  # (T,)
    modes = trace.stack("read_modes")[:, index].numpy()  # (T, R, 3)
    link = trace.stack("link")[-1, index].numpy()  # (N, N)
    steps, slots = usage.shape
    heads = modes.shape[1]
    fig = new_figure(max(7.0, min(14.0, 0.1 * steps + 5)), 3.2 + 1.4 * heads + 0.03 * slots)
    rows = fig.subfigures(1, 2, width_ratios=[3, 2])
    left = rows[0].subplots(2 + heads, 1, sharex=True, height_ratios=[3, 1.4] + [1.2] * heads)
    shown, stride = downsample(usage.T, axis=1)
    heat_map(
        rows[0],
        left[0],
        shown,
        f"usage u_t{stride_note(stride, steps)}",
        "",
        "memory slot",
        stride=stride,
        cmap="viridis",
        vmin=0,
        vmax=1,
        label="usage",
    )
    time = np.arange(steps) / stride
    left[1].plot(time, write_gate, label="write gate g^w")
    left[1].plot(time, allocation_gate, label="allocation share g^a")
    left[1].set_ylim(-0.05, 1.05)
    left[1].legend(loc="upper right", fontsize=7)
    left[1].set_title("writing", fontsize=9)
    for head in range(heads):
        ax = left[2 + head]
        ax.stackplot(time, modes[:, head].T, labels=READ_MODES, alpha=0.85)
        ax.set_ylim(0, 1)
        ax.set_title(f"read head {head}: modes π", fontsize=9)
        if head == 0:
            ax.legend(loc="upper right", fontsize=7)
    left[-1].set_xlabel("time step")
    right = rows[1].subplots()
    heat_map(
        rows[1],
        right,
        link,
        "links L_T",
        "slot j (written before)",
        "slot i (written after)",
        cmap="magma",
        vmin=0,
        vmax=1,
        label="L[i, j]",
    )
    right.set_aspect("equal")
    fig.suptitle(f"DNC on {task.name}: usage, writing, read modes, links")
    return fig
