"""Repeat copy (NTM paper §4.2): read a sequence, then write it back a given number of times.

Each episode (L ~ U{min_length..max_length}, R ~ U{min_repeats..max_repeats}):

- steps ``0 .. L-1``: L random ``bits``-bit vectors on input channels ``0 .. bits-1``;
- step ``L``: the delimiter flag on channel ``bits`` and the repeat count R on channel
  ``bits + 1``, normalised to mean 0 and variance 1 with the mean and standard deviation of the
  discrete uniform distribution over the *training* repeat range (std 1 if that range is a
  single value; ``scale_min_repeats``/``scale_max_repeats`` keep it when a run is scored on
  other counts), so counts outside the range stay on the same scale;
- steps ``L+1 .. L+L*R``: zero input; the target is the sequence repeated R times;
- step ``L+L*R+1``: zero input; the target is the end marker on output channel ``bits``.

Input width ``bits + 2``, output width ``bits + 1``. The end-marker channel is 0 on every other
scored step and the bit channels are 0 at the end-marker step. An episode lasts ``L*(R+1) + 2``
steps; shorter episodes in a batch are padded with zeros and masked out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from augrnn.settings import Range, at_least
from augrnn.tasks.base import Batch, Task, TaskConfig, episode_sizes, random_bits, render_bits


@dataclass
class RepeatCopyConfig(TaskConfig):
    bits: int = 8
    min_length: int = 1
    max_length: int = 10
    min_repeats: int = 1
    max_repeats: int = 10
    #: The repeat range whose mean and standard deviation normalise the count on its input
    #: channel (None: min_repeats..max_repeats). Filled in when the config is made, so a saved
    #: run keeps its training scale when scored on other counts
    #: (``augrnn eval RUN --task.min_repeats=20 --task.max_repeats=20``).
    scale_min_repeats: int | None = None
    scale_max_repeats: int | None = None

    RANGES: ClassVar[dict[str, Range]] = {
        "bits": at_least(1),
        "min_length": at_least(1),
        "max_length": at_least(1),
        "min_repeats": at_least(1),
        "max_repeats": at_least(1),
        "scale_min_repeats": at_least(1),
        "scale_max_repeats": at_least(1),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.scale_min_repeats is None:
            self.scale_min_repeats = self.min_repeats
        if self.scale_max_repeats is None:
            self.scale_max_repeats = self.max_repeats
        if self.scale_min_repeats > self.scale_max_repeats:
            raise ValueError(
                "repeat_copy needs scale_min_repeats <= scale_max_repeats, got "
                f"{self.scale_min_repeats} > {self.scale_max_repeats}"
            )


class RepeatCopyTask(Task):
    name = "repeat_copy"
    description = "copy a sequence of random 8-bit vectors R times, then an end marker (NTM §4.2)"
    config_class = RepeatCopyConfig
    config: RepeatCopyConfig

    def __init__(self, config: RepeatCopyConfig | None = None):
        super().__init__(config)
        c = self.config
        if c.bits < 1:
            raise ValueError(f"repeat_copy needs bits >= 1, got {c}")
        if not 1 <= c.min_length <= c.max_length:
            raise ValueError(f"repeat_copy needs 1 <= min_length <= max_length, got {c}")
        if not 1 <= c.min_repeats <= c.max_repeats:
            raise ValueError(f"repeat_copy needs 1 <= min_repeats <= max_repeats, got {c}")

    @property
    def input_size(self) -> int:
        return self.config.bits + 2

    @property
    def output_size(self) -> int:
        return self.config.bits + 1

    @property
    def train_lengths(self) -> tuple[int, int]:
        return (self.config.min_length, self.config.max_length)

    def repeat_scale(self) -> tuple[float, float]:
        """Mean and standard deviation used to normalise the repeat count.

        They are those of the discrete uniform distribution over the scale's repeat range
        a..b (``scale_min_repeats``..``scale_max_repeats``, the training range unless set):
        mean (a+b)/2 and variance ((b-a+1)^2 - 1)/12; the std is 1 when a == b.
        """
        low, high = self.config.scale_min_repeats, self.config.scale_max_repeats
        mean = (low + high) / 2
        std = math.sqrt(((high - low + 1) ** 2 - 1) / 12) if high > low else 1.0
        return mean, std

    def sample(
        self,
        batch_size: int,
        generator: torch.Generator,
        length: int | None = None,
        *,
        repeats: int | None = None,
    ) -> Batch:
        """Draw episodes; ``length`` fixes L and ``repeats`` fixes R for every episode."""
        c = self.config
        lengths = episode_sizes(
            self.name, batch_size, c.min_length, c.max_length, generator, length
        )
        reps = episode_sizes(
            self.name, batch_size, c.min_repeats, c.max_repeats, generator, repeats, name="repeats"
        )

        bits = c.bits
        max_len = int(lengths.max())
        out_steps = lengths * reps  # L*R copied vectors per episode
        max_out = int(out_steps.max())
        total = int((lengths + out_steps).max()) + 2
        batch_index = torch.arange(batch_size)

        vectors = random_bits((max_len, batch_size, bits), generator)
        steps = torch.arange(max_len).unsqueeze(1)
        vectors = vectors * (steps < lengths).unsqueeze(-1)  # zero the padding past each L

        inputs = torch.zeros(total, batch_size, bits + 2)
        targets = torch.zeros(total, batch_size, bits + 1)
        mask = torch.zeros(total, batch_size)
        inputs[:max_len, :, :bits] = vectors
        mean, std = self.repeat_scale()
        inputs[lengths, batch_index, bits] = 1.0
        inputs[lengths, batch_index, bits + 1] = (reps.float() - mean) / std

        # Output step k of episode b (k < L_b R_b) is at time L_b + 1 + k and repeats vector
        # k mod L_b.
        k = torch.arange(max_out).unsqueeze(1)  # (max_out, 1)
        valid = k < out_steps  # (max_out, B)
        time_idx = (lengths + 1 + k)[valid]
        b_idx = batch_index.expand(max_out, -1)[valid]
        source = (k % lengths)[valid]
        targets[time_idx, b_idx, :bits] = vectors[source, b_idx]
        mask[time_idx, b_idx] = 1.0

        end_time = lengths + out_steps + 1
        targets[end_time, batch_index, bits] = 1.0
        mask[end_time, batch_index] = 1.0
        return Batch(inputs, targets, mask, lengths)

    def render(self, batch: Batch, index: int = 0, logits: torch.Tensor | None = None) -> str:
        length = int(batch.lengths[index])
        # The scored steps are the L*R copies plus the end marker, so R follows from the mask.
        scored = int(batch.mask[:, index].sum())
        reps = (scored - 1) // length
        span = slice(0, length + scored + 1)
        rows = {
            "input": batch.inputs[span, index],
            "target": batch.targets[span, index] * batch.mask[span, index, None],
        }
        if logits is not None:
            rows["output"] = torch.sigmoid(logits[span, index]) * batch.mask[span, index, None]
        return f"repeat_copy, length {length}, repeats {reps}\n" + render_bits(rows)
