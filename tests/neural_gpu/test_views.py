"""The Neural GPU's view: the mental image over the steps, drawn from what the model traced."""

import numpy as np
import torch

from augrnn.neural_gpu.model import NeuralGPU
from augrnn.neural_gpu.views import image_panels, mental_image
from augrnn.tasks.long_numbers import LongBinaryAdditionTask, LongNumbersConfig
from augrnn.viz.views import applicable_views


def test_the_view_draws_the_traced_image_and_the_target_digits_probability():
    task = LongBinaryAdditionTask(LongNumbersConfig(min_n=2, max_n=5))
    batch = task.sample(3, torch.Generator().manual_seed(0))
    model = NeuralGPU(task.input_size, task.output_size, maps=6, rows=3).eval()
    logits, trace = model.traced(batch)
    assert "mental_image" in [view.name for view in applicable_views(trace, task)]
    panels = image_panels(trace, batch, 1)
    n = int(batch.lengths[1])
    width = batch.inputs.shape[0]
    assert panels["target_probability"].shape == (width, n + 1)
    assert panels["update"].shape == (width, width)
    assert panels["final_row"].shape == (6, width)
    # the last step's readout is the model's output
    final = torch.softmax(logits[: n + 1, 1].detach(), -1).numpy()
    targets = batch.targets[: n + 1, 1, 0].numpy()
    assert np.allclose(
        panels["target_probability"][-1], final[np.arange(n + 1), targets], atol=1e-6
    )
    fig = mental_image(trace, batch, task, logits, 1)
    drawn = np.asarray(fig.axes[0].get_images()[0].get_array())
    assert np.allclose(drawn, panels["target_probability"])
    assert f"{width} steps" in fig.get_suptitle()
