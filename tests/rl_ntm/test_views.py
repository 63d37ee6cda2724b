"""The RL-NTM's view, drawn from what the model traced."""

import numpy as np
import torch

from augrnn.rl_ntm.model import RLNTM
from augrnn.rl_ntm.views import rl_ntm_tapes, tape_panels
from augrnn.tasks.tapes import TapeReverseTask, TapeTaskConfig
from augrnn.viz.views import applicable_views


def test_the_view_draws_the_heads_and_the_emissions_the_model_traced():
    task = TapeReverseTask(TapeTaskConfig(min_length=3, max_length=5, symbols=4))
    batch = task.sample(2, torch.Generator().manual_seed(0))
    for memory_width in (0, 3):
        model = RLNTM(task.alphabet, hidden_size=8, memory_width=memory_width).eval()
        outputs, trace = model.traced(batch)
        assert "rl_ntm_tapes" in [view.name for view in applicable_views(trace, task)]
        panels = tape_panels(trace, batch, 1)
        cells = int(batch.tape_lengths[1])
        assert panels["input_head"].shape == (batch.steps, cells)
        assert np.allclose(panels["input_head"].sum(1), 1.0)
        assert panels["emit"].sum() == batch.mask[:, 1].sum()
        assert ("memory_head" in panels) == bool(memory_width)
        fig = rl_ntm_tapes(trace, batch, task, outputs, 1)
        assert len(fig.axes) == 2 * (4 if memory_width else 3)  # panels and colour bars
        drawn = np.asarray(fig.axes[0].get_images()[0].get_array())
        assert np.allclose(drawn, panels["input_head"])
