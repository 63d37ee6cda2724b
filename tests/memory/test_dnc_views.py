import torch

from augrnn.core import Trace
from augrnn.memory.dnc import DNC
from augrnn.memory.dnc_views import dnc_memory_management
from augrnn.tasks.copy import CopyConfig, CopyTask
from augrnn.viz.views import applicable_views


def test_memory_management_draws_usage_gates_read_modes_and_links():
    torch.manual_seed(0)
    task = CopyTask(CopyConfig(bits=3, max_length=5))
    batch = task.sample(2, torch.Generator().manual_seed(0), length=5)
    model = DNC(task.input_size, task.output_size, memory_slots=9, memory_width=4, read_heads=2)
    trace = Trace()
    model(batch.inputs, trace=trace)
    names = [view.name for view in applicable_views(trace, task)]
    assert "dnc_memory_management" in names and "ntm_weights" in names  # where, and how
    fig = dnc_memory_management(trace, batch, task, None, 1)
    steps = batch.inputs.shape[0]
    usage = next(ax for ax in fig.axes if ax.get_title() == "usage u_t")
    torch.testing.assert_close(
        torch.as_tensor(usage.get_images()[0].get_array()),
        trace.stack("usage")[:, 1].T,
        check_dtype=False,
    )
    modes = [ax for ax in fig.axes if ax.get_title().startswith("read head")]
    assert len(modes) == 2 and len(modes[0].collections) == 3  # backward, content, forward
    links = next(ax for ax in fig.axes if ax.get_title() == "links L_T")
    assert links.get_images()[0].get_array().shape == (9, 9)
    assert usage.get_images()[0].get_array().shape == (9, steps)
    assert fig.get_suptitle().startswith("DNC on copy")


def test_a_sparse_dnc_traces_dense_weightings_for_the_same_views():
    torch.manual_seed(0)
    task = CopyTask(CopyConfig(bits=3, max_length=5))
    batch = task.sample(2, torch.Generator().manual_seed(0), length=5)
    model = DNC(
        task.input_size,
        task.output_size,
        memory_slots=9,
        memory_width=4,
        read_heads=2,
        sparse_reads=3,
    )
    trace = Trace()
    model(batch.inputs, trace=trace)
    names = [view.name for view in applicable_views(trace, task)]
    assert "dnc_memory_management" in names and "ntm_weights" in names
    assert trace.stack("read_weights").shape[-1] == 9
    assert ((trace.stack("read_weights") > 0).sum(-1) <= 3).all()  # K of N slots
    memories = trace.stack("memory")
    assert not torch.equal(memories[0], memories[-1])  # copies, not the store changed in place
    fig = dnc_memory_management(trace, batch, task, None, 0)
    links = next(ax for ax in fig.axes if ax.get_title() == "links L_T")
    assert links.get_images()[0].get_array().shape == (9, 9)
