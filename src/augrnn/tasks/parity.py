"""Parity (ACT paper §3.1): the parity of a vector presented all at once, in a single step.

Each episode is one input step and one target: a vector of ``size`` entries (the paper's 64), of
which k, drawn uniformly from ``min_nonzero .. max_nonzero`` (the paper's 1 to 64), randomly
chosen ones are set to +1 or -1 with equal probability and the rest to 0. The target is 1 if the
number of +1 entries is odd, else 0. Shapes: inputs (1, B, size), targets (1, B, 1), mask all ones.

The ``length`` argument of :meth:`ParityTask.sample` fixes k for every episode; any k from 1 to
``size`` is allowed, so a model trained on small k can be tested on larger ones (PonderNet's
extrapolation split trains on 1-48 non-zero entries of 96 and tests on 49-96).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from augrnn.settings import Range, at_least
from augrnn.tasks.base import Batch, Task, TaskConfig, episode_sizes, random_bits


@dataclass
class ParityConfig(TaskConfig):
    size: int = 64
    min_nonzero: int = 1
    #: None means ``size``: every entry may be non-zero.
    max_nonzero: int | None = None

    RANGES: ClassVar[dict[str, Range]] = {
        "size": at_least(1),
        "min_nonzero": at_least(1),
        "max_nonzero": at_least(1),
    }


class ParityTask(Task):
    name = "parity"
    description = "parity of a vector of 64 entries in {-1, 0, +1}, seen in one step (ACT §3.1)"
    config_class = ParityConfig
    config: ParityConfig
    length_name = "nonzero"
    headline_metric = "sequence_error_rate"

    def __init__(self, config: ParityConfig | None = None):
        super().__init__(config)
        c = self.config
        if c.size < 1 or not 1 <= c.min_nonzero <= self.max_nonzero <= c.size:
            raise ValueError(
                f"parity needs size >= 1 and 1 <= min_nonzero <= max_nonzero <= size, got {c}"
            )

    @property
    def max_nonzero(self) -> int:
        c = self.config
        return c.size if c.max_nonzero is None else c.max_nonzero

    @property
    def input_size(self) -> int:
        return self.config.size

    @property
    def output_size(self) -> int:
        return 1

    @property
    def train_lengths(self) -> tuple[int, int]:
        return (self.config.min_nonzero, self.max_nonzero)

    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        """Draw episodes; ``length`` fixes the number k of non-zero entries (1 <= k <= size)."""
        size = self.config.size
        if length is not None and length > size:
            raise ValueError(f"parity nonzero must be <= size ({size}), got {length}")
        nonzero = episode_sizes(
            self.name,
            batch_size,
            self.config.min_nonzero,
            self.max_nonzero,
            generator,
            length,
            name="nonzero",
        )
        # The k entries of lowest rank under a random permutation are a uniform random k-subset.
        ranks = torch.rand(batch_size, size, generator=generator).argsort(1).argsort(1)
        chosen = ranks < nonzero.unsqueeze(1)
        signs = random_bits((batch_size, size), generator) * 2 - 1
        vectors = signs * chosen
        odd = (vectors > 0).sum(1) % 2

        inputs = vectors.unsqueeze(0)
        targets = odd.float().view(1, batch_size, 1)
        mask = torch.ones(1, batch_size)
        return Batch(inputs, targets, mask, nonzero)

    @torch.no_grad()
    def metrics(self, logits: torch.Tensor, batch: Batch) -> dict[str, float]:
        """The bit metrics plus ``sequence_error_rate``, the paper's measure (ACT §3)."""
        metrics = super().metrics(logits, batch)
        metrics["sequence_error_rate"] = 1.0 - metrics["sequence_accuracy"]
        return metrics

    def render(self, batch: Batch, index: int = 0, logits: torch.Tensor | None = None) -> str:
        vector = batch.inputs[0, index].tolist()
        cells = "".join("+" if v > 0 else "-" if v < 0 else "." for v in vector)
        ones = sum(v > 0 for v in vector)
        lines = [
            f"parity, {int(batch.lengths[index])} non-zero",
            f"input:  {cells}",
            f"target: {int(batch.targets[0, index, 0])}  ({ones} entries are +1)",
        ]
        if logits is not None:
            lines.append(f"output: P(odd) = {torch.sigmoid(logits[0, index, 0]).item():.2f}")
        return "\n".join(lines)
