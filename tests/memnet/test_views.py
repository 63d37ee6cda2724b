"""The memory network's view: each hop's attention over the statements, labelled with their
text, the supporting ones marked."""

import numpy as np
import torch

from augrnn.memnet.memn2n import MemN2N
from augrnn.memnet.views import memory_hops
from augrnn.tasks.babi import BabiConfig, BabiTask
from augrnn.viz.views import applicable_views


def test_the_view_draws_each_hop_over_the_statements():
    task = BabiTask(BabiConfig(id="2", train_size=4))
    batch = task.sample(3, torch.Generator().manual_seed(0))
    model = MemN2N(task.input_size, task.classes, embedding_size=5, hops=2).eval()
    logits, trace = model.traced(batch)
    assert "memory_hops" in [view.name for view in applicable_views(trace, task)]
    fig = memory_hops(trace, batch, task, logits, 1)
    ax = fig.axes[0]
    grid = ax.get_images()[0].get_array()
    count = int(batch.lengths[1])
    assert grid.shape == (count, 2)
    expected = trace.stack("memory_attention")[:, 1, :count].T.numpy()
    assert np.allclose(np.asarray(grid), expected)
    labels = [label.get_text() for label in ax.get_yticklabels()]
    statements = task.statements(batch, 1)
    assert [label.split(". ", 1)[1] for label in labels] == statements
    marked = [label.startswith("* ") for label in labels]
    assert marked == (batch.supports[1, :count] > 0).tolist()
    assert task.question_text(batch, 1) in fig.get_suptitle()
