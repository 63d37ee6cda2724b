"""Copy (NTM paper §4.1): read a sequence of random bit vectors, then write it back.

Each episode: L random ``bits``-bit vectors (L ~ U{min_length..max_length}), then one step with the
delimiter flag on its own channel, then L steps of zero input during which the target is the
sequence again. Input width ``bits + 1``, output width ``bits``; ``input_mask`` marks each
episode's 2L + 1 steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from augrnn.settings import Range, at_least
from augrnn.tasks.base import Batch, Task, TaskConfig, episode_sizes, random_bits, render_bits


@dataclass
class CopyConfig(TaskConfig):
    bits: int = 8
    min_length: int = 1
    max_length: int = 20

    RANGES: ClassVar[dict[str, Range]] = {
        "bits": at_least(1),
        "min_length": at_least(1),
        "max_length": at_least(1),
    }


class CopyTask(Task):
    name = "copy"
    description = "copy a sequence of random 8-bit vectors after a delimiter (NTM §4.1)"
    config_class = CopyConfig
    config: CopyConfig

    def __init__(self, config: CopyConfig | None = None):
        super().__init__(config)
        c = self.config
        if c.bits < 1 or not 1 <= c.min_length <= c.max_length:
            raise ValueError(f"copy needs bits >= 1 and 1 <= min_length <= max_length, got {c}")

    @property
    def input_size(self) -> int:
        return self.config.bits + 1

    @property
    def output_size(self) -> int:
        return self.config.bits

    @property
    def train_lengths(self) -> tuple[int, int]:
        return (self.config.min_length, self.config.max_length)

    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        bits = self.config.bits
        lengths = episode_sizes(
            self.name, batch_size, self.config.min_length, self.config.max_length, generator, length
        )
        max_len = int(lengths.max())
        total = 2 * max_len + 1
        vectors = random_bits((max_len, batch_size, bits), generator)
        steps = torch.arange(max_len).unsqueeze(1)
        vectors = vectors * (steps < lengths).unsqueeze(-1)

        inputs = torch.zeros(total, batch_size, bits + 1)
        targets = torch.zeros(total, batch_size, bits)
        mask = torch.zeros(total, batch_size)
        inputs[:max_len, :, :bits] = vectors
        batch_index = torch.arange(batch_size)
        inputs[lengths, batch_index, bits] = 1.0
        # Sample b's output occupies steps L_b + 1 .. 2 L_b.
        out_time = lengths.unsqueeze(0) + 1 + steps  # (max_len, B)
        valid = steps < lengths
        out_time = torch.where(valid, out_time, torch.zeros_like(out_time))
        time_idx, b_idx = out_time[valid], batch_index.expand(max_len, -1)[valid]
        targets[time_idx, b_idx] = vectors[valid]
        mask[time_idx, b_idx] = 1.0
        input_mask = (torch.arange(total).unsqueeze(1) < 2 * lengths + 1).float()
        return Batch(inputs, targets, mask, lengths, input_mask)

    def render(self, batch: Batch, index: int = 0, logits: torch.Tensor | None = None) -> str:
        length = int(batch.lengths[index])
        span = slice(0, 2 * length + 1)
        rows = {
            "input": batch.inputs[span, index],
            "target": batch.targets[span, index] * batch.mask[span, index, None],
        }
        if logits is not None:
            rows["output"] = torch.sigmoid(logits[span, index]) * batch.mask[span, index, None]
        return f"copy, length {length}\n" + render_bits(rows)
