"""The view of the Neural GPU for ``augrnn viz`` (registered by its model kind, see
:mod:`augrnn.viz.views`): its mental image over the n steps."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from augrnn.viz.views import heat_map, new_figure, register_view


def image_panels(trace, batch, index: int) -> dict[str, np.ndarray]:
    """What the view draws of episode ``index``, each (steps, columns): the
    probability the output read at each step gives the target digit of each scored column
    (``target_probability``), the first row's most varying map (``busiest_map``) and the last
    CGRU's update gate u averaged over maps, first row (``update``); and (maps, columns), the
    first row of the final image (``final_row``)."""
    first_row = trace.stack("gpu_first_row")[:, index].numpy()  # (S, m, n)
    readout = trace.stack("gpu_readout")[:, index].numpy()  # (S, K, n)
    update = trace.stack("gpu_update")[:, index, 0].numpy()  # (S, n)
    scored = batch.mask[:, index].numpy() > 0
    columns = np.flatnonzero(scored)
    targets = batch.targets[columns, index, 0].numpy()
    busiest = int(
        first_row.reshape(first_row.shape[0], first_row.shape[1], -1).std((0, 2)).argmax()
    )
    return {
        "target_probability": readout[:, targets, columns],
        "busiest_map": first_row[:, busiest],
        "busiest_index": np.asarray(busiest),
        "update": update,
        "final_row": first_row[-1],
    }


@register_view("mental_image", needs=("gpu_first_row", "gpu_readout", "gpu_update"))
def mental_image(trace, batch, task, logits, index) -> Figure:
    """The Neural GPU's mental image over its n steps (steps down, columns across): how sure
    the output read at each step is of each result digit (the carry of an addition moves
    across as a front of digits turning right), the first row's busiest map, the update gate,
    and the first row of the final image."""
    panels = image_panels(trace, batch, index)
    steps, columns = panels["update"].shape
    fig = new_figure(max(10.0, min(16.0, 0.15 * columns + 6)), min(16.0, 3.0 + 0.3 * steps))
    axes = fig.subplots(2, 2)
    heat_map(
        fig, axes[0, 0], panels["target_probability"], "P(target digit) read at each step",
        "result digit (least significant first)", "step", vmin=0, vmax=1, label="p",
    )  # fmt: skip
    busy = panels["busiest_map"]
    bound = max(1e-6, float(np.abs(busy).max()))
    heat_map(
        fig, axes[0, 1], busy, f"first row, map {int(panels['busiest_index'])}", "column", "step",
        cmap="coolwarm", vmin=-bound, vmax=bound, label="s",
    )  # fmt: skip
    heat_map(
        fig, axes[1, 0], panels["update"], "update gate u, first row (mean over maps)", "column",
        "step", vmin=0, vmax=1, label="u",
    )  # fmt: skip
    heat_map(
        fig, axes[1, 1], panels["final_row"], "first row of the final image", "column", "map",
        cmap="coolwarm", vmin=-1, vmax=1, label="s_n",
    )  # fmt: skip
    fig.suptitle(f"Neural GPU on {task.name}: {steps} steps over {columns} columns")
    return fig
