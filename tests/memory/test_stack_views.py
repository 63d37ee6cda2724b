import numpy as np
import pytest
import torch

from augrnn.core import Trace
from augrnn.memory.stack import NeuralStructureCell, StackRNNCell
from augrnn.memory.stack_views import stack_rnn_stacks, structure_contents
from augrnn.sequence import RecurrentModel
from augrnn.tasks.transduction import TransductionConfig, TransductionReversalTask
from augrnn.viz.views import applicable_views


def traced(core, task, batch):
    trace = Trace()
    RecurrentModel(core)(batch.inputs, trace=trace)
    return trace


@pytest.mark.parametrize(("structure", "ends"), [("stack", 1), ("deque", 2)])
def test_the_structure_view_draws_each_end(structure, ends):
    torch.manual_seed(0)
    task = TransductionReversalTask(TransductionConfig(symbols=4, min_length=3, max_length=3))
    batch = task.sample(2, torch.Generator().manual_seed(0))
    core = NeuralStructureCell(
        task.input_size, task.output_size, structure=structure, controller_size=8,
        memory_width=3, capacity=12,
    )  # fmt: skip
    trace = traced(core, task, batch)
    assert "structure_contents" in [view.name for view in applicable_views(trace, task)]
    fig = structure_contents(trace, batch, task, None, 1)
    held = [ax for ax in fig.axes if ax.get_title().startswith("strength of each pushed value")]
    assert len(held) == ends
    steps = batch.inputs.shape[0]
    grid = held[0].get_images()[0].get_array()
    assert grid.shape == (steps, steps)
    # The value pushed at the last step holds that step's push strength.
    pushes = trace.stack("push_strengths")[:, 1, 0]
    assert grid[-1, -1] == pytest.approx(float(pushes[-1]))
    assert fig.get_suptitle().startswith("deque" if ends == 2 else "stack or queue")


def test_the_stack_rnn_view_draws_actions_and_cells():
    torch.manual_seed(0)
    task = TransductionReversalTask(TransductionConfig(symbols=4, min_length=3, max_length=3))
    batch = task.sample(2, torch.Generator().manual_seed(0))
    core = StackRNNCell(task.input_size, task.output_size, hidden_size=8, stacks=6, depth=10)
    trace = traced(core, task, batch)
    assert "stack_rnn_stacks" in [view.name for view in applicable_views(trace, task)]
    fig = stack_rnn_stacks(trace, batch, task, None, 0)
    actions = [ax for ax in fig.axes if ax.get_title().endswith("actions")]
    assert len(actions) == 4 and len(actions[0].collections) == 3  # push, pop, no-op
    cells = next(ax for ax in fig.axes if ax.get_title() == "stack 0: cells (top first)")
    shown = cells.get_images()[0].get_array()
    steps = batch.inputs.shape[0]
    assert shown.shape == (steps, steps)  # no deeper than a stack can be after `steps` pushes
    np.testing.assert_allclose(shown, trace.stack("stacks")[:, 0, 0, :steps].T.numpy())
