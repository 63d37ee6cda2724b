"""The view of the NRAM for ``augrnn viz`` (registered by its model kind, see
:mod:`augrnn.viz.views`): the memory over the timesteps, the stopping probabilities and how
sure the controller is of each module's inputs."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from augrnn.nram.modules import MODULES
from augrnn.viz.views import heat_map, new_figure, register_view


def circuit_panels(trace, batch, index: int) -> dict[str, np.ndarray]:
    """What the view draws of episode ``index``: (T, M) the most probable value of each cell
    after each timestep (``values``); (T, S) the probability of the target value of each of
    the S scored cells (``target_probability``, their cells in ``scored``); (T,) p_t
    (``stop``); (2Q, T) the weight of the most probable input of each module's first and
    second argument (``sureness``)."""
    memory = trace.stack("nram_memory")[:, index].numpy()  # (T, M, M)
    scored = np.flatnonzero(batch.mask[:, index].numpy() > 0)
    targets = batch.targets[scored, index].numpy()
    modules = range(len(trace.steps[0]["nram_module_ids"]))
    sureness = [
        trace.stack(f"nram_module{i}_{side}")[:, index].max(-1).values.numpy()
        for i in modules
        for side in "ab"
    ]
    return {
        "values": memory.argmax(-1).astype(float),
        "target_probability": memory[:, scored, targets],
        "scored": scored,
        "stop": trace.stack("nram_stop")[:, index].numpy(),
        "sureness": np.stack(sureness),
    }


@register_view("nram_circuit", needs=("nram_memory", "nram_stop", "nram_module0_a"))
def nram_circuit(trace, batch, task, logits, index) -> Figure:
    """The NRAM's memory after each timestep (the most probable value per cell, and the
    probability of the value the cell should end with: the scored cells turn right as the
    circuit writes them), the stopping probabilities p_t, and the weight of each module's most
    probable inputs (1: a discrete circuit; the circuits themselves are printed as text)."""
    panels = circuit_panels(trace, batch, index)
    steps, cells = panels["values"].shape
    fig = new_figure(max(10.0, min(16.0, 0.25 * cells + 6)), min(16.0, 5.0 + 0.3 * steps))
    axes = fig.subplots(2, 2)
    heat_map(
        fig, axes[0, 0], panels["values"], "most probable value per cell", "cell", "timestep",
        cmap="viridis", vmin=0, vmax=max(1, cells - 1), label="value",
    )  # fmt: skip
    heat_map(
        fig, axes[0, 1], panels["target_probability"], "P(scored cell holds its target value)",
        "scored cell", "timestep", vmin=0, vmax=1, label="p",
    )  # fmt: skip
    axes[0, 1].set_xticks(range(len(panels["scored"])), [str(c) for c in panels["scored"]])
    axes[1, 0].bar(np.arange(1, steps + 1), panels["stop"], color="tab:blue")
    axes[1, 0].set(title="stopping probability p_t", xlabel="timestep", ylabel="p_t", ylim=(0, 1))
    axes[1, 0].set_xticks(range(1, steps + 1))
    heat_map(
        fig, axes[1, 1], panels["sureness"].T, "weight of each module's most probable inputs",
        "module (a, then b)", "timestep", vmin=0, vmax=1, label="max weight",
    )  # fmt: skip
    names = [MODULES[i].name for i in trace.steps[0]["nram_module_ids"].tolist()]
    axes[1, 1].set_xticks(np.arange(0, 2 * len(names), 2) + 0.5, names, rotation=90, fontsize=7)
    for ax in (axes[0, 0], axes[0, 1], axes[1, 1]):
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_yticks(ax.get_yticks(), [str(int(t) + 1) for t in ax.get_yticks()])
        ax.set_ylim(steps - 0.5, -0.5)
    scored = int(batch.mask[:, index].sum())
    fig.suptitle(f"NRAM on {task.name}: {steps} timesteps, {cells} cells, {scored} scored")
    return fig
