"""The Neural Programmer's view for ``augrnn viz``: the operation and column it weighs at each
step (registered by the model kind ``programmer``, see :mod:`augrnn.viz.views`)."""

from __future__ import annotations

from matplotlib.figure import Figure

from augrnn.programmer.model import program_text
from augrnn.table_operations import OPERATIONS
from augrnn.viz.views import heat_map, new_figure, register_view


@register_view("programmer_selection", needs=("operation_weights", "column_weights", "pivots"))
def programmer_selection(trace, batch, task, logits, index) -> Figure:
    """α_op (operations × steps) and α_col (columns × steps) of one question, with the argmax
    program printed above (Neelakantan et al. 2015's selector)."""
    alpha_op = trace.stack("operation_weights")[:, index].numpy()  # (T, O)
    alpha_col = trace.stack("column_weights")[:, index].numpy()  # (T, C)
    pivots = trace.stack("pivots")[0, index].tolist()
    names = list(getattr(task, "column_names", [f"col{j}" for j in range(alpha_col.shape[1])]))
    program = program_text(
        alpha_op.argmax(-1).tolist(), alpha_col.argmax(-1).tolist(), pivots, names
    )
    steps = alpha_op.shape[0]
    fig = new_figure(max(6.0, 1.2 * steps + 4), 2.0 + 0.28 * (len(OPERATIONS) + len(names)))
    axes = fig.subplots(2, 1, sharex=True, height_ratios=[len(OPERATIONS), max(2, len(names))])
    for ax, grid, labels, title in (
        (axes[0], alpha_op.T, OPERATIONS, "α_op: operation weights"),
        (axes[1], alpha_col.T, names, "α_col: column weights"),
    ):
        heat_map(fig, ax, grid, title, "", "", cmap="Greys", vmin=0, vmax=1, label="weight")
        ax.set_yticks(range(len(labels)), labels)
    axes[1].set_xticks(range(steps), [str(t + 1) for t in range(steps)])
    axes[1].set_xlabel("program step t")
    question = getattr(task, "question_text", None)
    asked = f"{question(batch, index)}\n" if question is not None else ""
    # one program step per line once the program is wider than the figure
    if len(program) > 12 * fig.get_figwidth():
        program = program.replace(" -> ", " ->\n")
    fig.suptitle(f"{task.name}: {asked}{program}", fontsize=9)
    return fig
