# A task of your own: a seeded generator that owns its loss, metrics and rendering.
import tempfile
from dataclasses import dataclass

import torch

from augrnn import registry
from augrnn.tasks.base import Batch, Task, TaskConfig, episode_sizes, random_bits, render_bits
from augrnn.train.config import config_from_dict
from augrnn.train.loop import Trainer


@dataclass
class DelayConfig(TaskConfig):
    """A task's settings: what a preset's [task] table may give."""

    bits: int = 4
    max_length: int = 8
    delay: int = 2


class DelayTask(Task):
    """Write each input vector again ``delay`` steps later."""

    name = "delay"
    description = "echo each input vector a few steps later"
    config_class = DelayConfig

    @property
    def input_size(self) -> int:
        return self.config.bits

    @property
    def output_size(self) -> int:
        return self.config.bits

    @property
    def train_lengths(self) -> tuple[int, int]:
        return 1, self.config.max_length

    def sample(self, batch_size, generator, length=None) -> Batch:
        """(T, B, bits) inputs and the same vectors ``delay`` steps later as targets; only the
        steps that hold a delayed vector are scored (``mask``)."""
        lengths = episode_sizes(self.name, batch_size, 1, self.config.max_length, generator, length)
        steps, delay = int(lengths.max()) + self.config.delay, self.config.delay
        t = torch.arange(steps).unsqueeze(1)
        inputs = random_bits((steps, batch_size, self.config.bits), generator)
        inputs = inputs * (t < lengths).unsqueeze(-1)
        targets = torch.zeros_like(inputs)
        targets[delay:] = inputs[:-delay]
        mask = ((t >= delay) & (t < lengths + delay)).float()
        return Batch(inputs, targets, mask, lengths, (t < lengths + delay).float())

    def render(self, batch, index=0, logits=None) -> str:
        rows = {"inputs": batch.inputs[:, index], "targets": batch.targets[:, index]}
        if logits is not None:
            rows["outputs"] = logits[:, index].sigmoid()
        return render_bits(rows)


registry.tasks.register("delay", DelayTask)  # a package names it in its entry points instead
print(DelayTask().render(DelayTask().sample(1, torch.Generator().manual_seed(0), length=4)))

# The default loss (binary cross-entropy on the scored steps) and metrics (cost in bits, bit
# errors, the share of episodes without one) come from Task; a plain LSTM learns it.
config = config_from_dict(
    {
        "task": {"name": "delay", "bits": 4, "max_length": 6},
        "model": {"kind": "lstm", "hidden_size": 64, "num_layers": 1},
        "optim": {"name": "adam", "lr": 1e-2, "clip_value": "none"},
        "train": {"steps": 300, "batch_size": 32, "eval_every": 100, "eval_sequences": 200},
    }
)
with tempfile.TemporaryDirectory() as run_dir:
    result = Trainer(config, run_dir).train(progress=False)
print(f"after 300 steps: {result.eval_metrics['bit_error_rate']:.3f} of the bits wrong")
assert result.eval_metrics["bit_error_rate"] < 0.05
