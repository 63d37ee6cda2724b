"""Sort (ACT paper §3.4): read N real numbers, then output their indices in ascending order.

Each episode, with N ~ U{min_numbers..max_numbers} (the paper's 2 to 15) numbers x_0 .. x_{N-1}
drawn from N(0, 1):

- steps ``0 .. N-1``: x_n on channel 0; channel 1, the end-of-sequence flag, is 1 on step N-1;
- steps ``N .. 2N-1``: zero input; the target at step N + j is the index n of the j-th smallest
  number, one class of ``max_numbers`` (the paper's size 15 softmax).

Shapes: inputs (T, B, 2), targets (T, B, 1) long, mask (T, B) 1 on the N output steps, input_mask
(T, B) 1 on the 2N steps of the episode, with T = 2 max N over the batch. Unscored steps hold
class 0. The ``length`` argument of :meth:`SortTask.sample` fixes N, at most ``max_numbers``
since the indices are classes of a fixed softmax.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from augrnn.settings import Range, at_least
from augrnn.tasks.base import Batch, ClassificationTask, TaskConfig, episode_sizes


@dataclass
class SortConfig(TaskConfig):
    min_numbers: int = 2
    max_numbers: int = 15

    RANGES: ClassVar[dict[str, Range]] = {
        "min_numbers": at_least(1),
        "max_numbers": at_least(1),
    }


class SortTask(ClassificationTask):
    name = "sort"
    description = (
        "read 2-15 numbers from N(0, 1), then output their indices in ascending order (ACT §3.4)"
    )
    config_class = SortConfig
    config: SortConfig
    length_name = "numbers"

    def __init__(self, config: SortConfig | None = None):
        super().__init__(config)
        c = self.config
        if not 1 <= c.min_numbers <= c.max_numbers:
            raise ValueError(f"sort needs 1 <= min_numbers <= max_numbers, got {c}")

    @property
    def groups(self) -> int:
        return 1

    @property
    def classes(self) -> int:
        return self.config.max_numbers

    @property
    def input_size(self) -> int:
        return 2

    @property
    def train_lengths(self) -> tuple[int, int]:
        return (self.config.min_numbers, self.config.max_numbers)

    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        """Draw episodes; ``length`` fixes the count of numbers N (1 <= N <= max_numbers)."""
        c = self.config
        if length is not None and length > c.max_numbers:
            raise ValueError(f"sort numbers must be <= max_numbers ({c.max_numbers}), got {length}")
        counts = episode_sizes(
            self.name, batch_size, c.min_numbers, c.max_numbers, generator, length, name="numbers"
        )
        most = int(counts.max())
        position = torch.arange(most).unsqueeze(1)  # (max N, 1)
        listed = position < counts  # (max N, B)
        values = torch.randn(most, batch_size, generator=generator) * listed
        # Padding sorts last, so the first N entries of each column index the real numbers.
        keys = values.masked_fill(~listed, float("inf"))
        order = keys.argsort(dim=0, stable=True)  # (max N, B)

        steps = 2 * most
        batch_index = torch.arange(batch_size)
        inputs = torch.zeros(steps, batch_size, 2)
        inputs[:most, :, 0] = values
        inputs[counts - 1, batch_index, 1] = 1.0
        targets = torch.zeros(steps, batch_size, 1, dtype=torch.long)
        mask = torch.zeros(steps, batch_size)
        # Output j of episode b is at step N_b + j.
        out_time = (counts + position)[listed]
        out_batch = batch_index.expand(most, -1)[listed]
        targets[out_time, out_batch, 0] = order[listed]
        mask[out_time, out_batch] = 1.0
        input_mask = (torch.arange(steps).unsqueeze(1) < 2 * counts).float()
        return Batch(inputs, targets, mask, counts, input_mask)

    def render(self, batch: Batch, index: int = 0, logits: torch.Tensor | None = None) -> str:
        count = int(batch.lengths[index])
        values = batch.inputs[:count, index, 0].tolist()
        listed = "  ".join(f"{n}:{v:+.2f}" for n, v in enumerate(values))
        outputs = slice(count, 2 * count)
        target = batch.targets[outputs, index, 0].tolist()
        lines = [
            f"sort, {count} numbers (end flag on step {count - 1})",
            f"input:  {listed}",
            f"target: {' '.join(map(str, target))}",
        ]
        if logits is not None:
            predicted = logits[outputs, index].argmax(-1).tolist()
            lines.append(f"output: {' '.join(map(str, predicted))}")
        return "\n".join(lines)
