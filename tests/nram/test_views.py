"""The NRAM's view and its circuits as text, drawn from what the model traced."""

import numpy as np
import torch

from augrnn.nram.views import circuit_panels, nram_circuit
from augrnn.tasks.pointers import IncrementTask, PointerTaskConfig
from augrnn.viz.views import applicable_views


def test_the_view_draws_the_memory_over_time_and_the_planted_circuit_reads_as_text(
    planted_increment,
):
    task = IncrementTask(PointerTaskConfig(min_size=3, max_size=3, extra_steps=0))
    batch = task.sample(2, torch.Generator().manual_seed(0))
    model = planted_increment().eval()
    outputs, trace = model.traced(batch)
    assert "nram_circuit" in [view.name for view in applicable_views(trace, task)]
    panels = circuit_panels(trace, batch, 1)
    assert panels["values"].shape == (4, 4) and panels["target_probability"].shape == (4, 3)
    # cell i takes its target at step i + 1 and keeps it
    assert np.allclose(np.tril(panels["target_probability"] > 0.99), np.tril(np.ones((4, 3))))
    assert np.allclose(panels["sureness"], 1.0, atol=1e-6)
    fig = nram_circuit(trace, batch, task, outputs, 1)
    drawn = np.asarray(fig.axes[0].get_images()[0].get_array())
    assert np.allclose(drawn, panels["values"])
    assert "4 timesteps, 4 cells, 3 scored" in fig.get_suptitle()
    lines = model.circuits(trace, 1)
    assert (
        lines[0] == "t=1: READ(r1) ONE() INC(READ) ADD(r1, ONE) WRITE(r1, INC); r1 := ADD; p_t 0.00"
    )
    assert lines[-1].endswith("p_t 1.00")
