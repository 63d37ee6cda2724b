"""Views for ``augrnn viz`` of the memory networks (registered by their model kinds, see
:mod:`augrnn.viz.views`): which statements each hop reads, beside the supporting facts."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from augrnn.viz.views import heat_map, new_figure, register_view

#: Statements drawn at most (the newest).
MAX_STATEMENTS_SHOWN = 60


@register_view("memory_hops", needs=("memory_attention",))
def memory_hops(trace, batch, task, logits, index) -> Figure:
    """The attention p of each hop over the story's statements (rows, oldest first), the
    supporting statements marked with ``*``, the question, the answer and the model's."""
    attention = trace.stack("memory_attention")[:, index].numpy()  # (K, S)
    hops = attention.shape[0]
    count = int(batch.lengths[index])
    texts = (
        task.statements(batch, index)
        if hasattr(task, "statements")
        else [f"statement {j + 1}" for j in range(count)]
    )
    supports = batch.supports[index, :count].numpy() > 0
    first = max(0, count - MAX_STATEMENTS_SHOWN)
    grid = attention[:, first:count].T  # (S, K)
    labels = [f"{'* ' if supports[j] else ''}{j + 1}. {texts[j]}" for j in range(first, count)]
    fig = new_figure(7.0 + 0.6 * hops, 1.6 + 0.24 * len(labels))
    ax = fig.subplots(1, 1)
    heat_map(
        fig, ax, grid, "attention of each hop", "hop", "",
        cmap="viridis", vmin=0, vmax=max(1e-6, float(np.nanmax(grid))), label="p",
    )  # fmt: skip
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xticks(range(hops), [str(k + 1) for k in range(hops)])
    at_question = (logits[:, index] * batch.mask[:, index].unsqueeze(-1)).sum(0)
    name = getattr(task, "answer_text", str)
    question = task.question_text(batch, index) if hasattr(task, "question_text") else ""
    fig.suptitle(
        f"{question}\nanswer: {name(int(batch.answers[index]))}, "
        f"model: {name(int(at_question.argmax()))} (* supporting)",
        fontsize=9,
    )
    return fig
