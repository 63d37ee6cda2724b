"""Dynamic N-grams (NTM paper §4.4): predict the next bit of a sequence from a random N-gram model.

Each episode draws its own look-up table: for each of the 2^(order-1) contexts (the previous
order-1 bits) a probability that the next bit is 1, drawn from Beta(1/2, 1/2). The first
order-1 bits are fair coin flips; each later bit is 1 with the table's probability for its
context. A model can only do well by counting, within the episode, what followed each context.

Layout of an episode of T = sequence_length bits: step t has input bit t (width 1) and target
bit t+1 (width 1); the last step has no target. Only targets whose full context exists are scored,
i.e. bits i >= order-1 (steps t >= order-2), so the model and the optimal estimator are compared
on the bits that the table generated: T - max(order-1, 1) scored steps per episode.

Contexts are numbered with the most recent bit as the least significant bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from augrnn.settings import Range, at_least, between, check_integers
from augrnn.tasks.base import LN2, Batch, Task, TaskConfig, render_bits


@dataclass
class NGramsConfig(TaskConfig):
    order: int = 6
    sequence_length: int = 200

    RANGES: ClassVar[dict[str, Range]] = {
        "order": between(1, 20),
        "sequence_length": at_least(1),
    }


def beta_half(shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
    """Exact Beta(1/2, 1/2) draws from ``generator``.

    Gamma(1/2, 1) is Z^2/2 with Z ~ N(0, 1), and Beta(a, b) = X/(X+Y) for independent
    X ~ Gamma(a), Y ~ Gamma(b), so Beta(1/2, 1/2) = Z1^2 / (Z1^2 + Z2^2).
    """
    x = torch.randn(shape, generator=generator).square()
    y = torch.randn(shape, generator=generator).square()
    total = x + y
    # Both normals exactly 0 has probability ~0; map that case to 1/2 rather than NaN.
    return torch.where(total > 0, x / total.clamp_min(torch.finfo(total.dtype).tiny), 0.5)


def optimal_predictions(bits: Tensor, order: int) -> Tensor:
    """The Bayesian optimal estimate of each next bit, for a batch of N-gram sequences.

    ``bits`` is a (T, B) tensor of 0/1 values; the result is (T-1, B), whose row t is the
    probability that bit t+1 is 1 given bits 0..t: (N1 + 1/2) / (N0 + N1 + 1), where N0 and N1
    count the 0s and 1s that followed the same order-1-bit context earlier in the sequence (the
    posterior mean under the Beta(1/2, 1/2) prior, NTM §4.4). Only bits with a full context
    (index >= order-1) are counted; rows predicting a bit without one (t < order-2) are 1/2.
    """
    if bits.dim() != 2:
        raise ValueError(
            f"optimal_predictions expects bits of shape (T, B), got {tuple(bits.shape)}"
        )
    if order < 1:
        raise ValueError(f"optimal_predictions needs order >= 1, got {order}")
    steps, batch = bits.shape
    context_bits = order - 1
    num_contexts = 1 << context_bits
    ints = bits.round().long()
    counts = torch.zeros(batch, num_contexts, 2, dtype=torch.float64)
    batch_index = torch.arange(batch)
    context = torch.zeros(batch, dtype=torch.long)
    preds = torch.full((max(steps - 1, 0), batch), 0.5, dtype=torch.float64)
    for i in range(steps):
        if i >= context_bits:
            if i >= 1:
                n0, n1 = counts[batch_index, context].unbind(-1)
                preds[i - 1] = (n1 + 0.5) / (n0 + n1 + 1.0)
            counts[batch_index, context, ints[i]] += 1.0
        # Shift bit i into the context, keeping the last order-1 bits.
        context = ((context << 1) | ints[i]) & (num_contexts - 1)
    return preds.to(bits.dtype if bits.is_floating_point() else torch.float32)


class NGramsTask(Task):
    name = "ngrams"
    description = "predict the next bit of a sequence from a random 6-gram model (NTM §4.4)"
    config_class = NGramsConfig
    config: NGramsConfig

    def __init__(self, config: NGramsConfig | None = None):
        super().__init__(config)
        c = self.config
        if c.order < 1:
            raise ValueError(f"ngrams needs order >= 1, got {c}")
        if c.sequence_length < self._min_length():
            raise ValueError(
                f"ngrams needs sequence_length >= {self._min_length()} (max(order, 2)) so that "
                f"some bit is scored, got {c}"
            )

    def _min_length(self) -> int:
        return max(self.config.order, 2)

    @property
    def input_size(self) -> int:
        return 1

    @property
    def output_size(self) -> int:
        return 1

    @property
    def train_lengths(self) -> tuple[int, int]:
        return (self.config.sequence_length, self.config.sequence_length)

    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        """Draw episodes, each with its own table; ``length`` fixes the number of bits T."""
        c = self.config
        check_integers("ngrams", batch_size=batch_size, length=length)
        if batch_size < 1:
            raise ValueError(f"ngrams batch_size must be >= 1, got {batch_size}")
        steps = c.sequence_length if length is None else length
        if steps < self._min_length():
            raise ValueError(f"ngrams length must be >= {self._min_length()}, got {steps}")

        context_bits = c.order - 1
        num_contexts = 1 << context_bits
        table = beta_half((batch_size, num_contexts), generator)
        uniforms = torch.rand(steps, batch_size, generator=generator)
        batch_index = torch.arange(batch_size)
        bits = torch.zeros(steps, batch_size, dtype=torch.long)
        context = torch.zeros(batch_size, dtype=torch.long)
        for i in range(steps):
            # Fair coins until a full context exists, then the table's probability for it.
            p = table[batch_index, context] if i >= context_bits else torch.full((batch_size,), 0.5)
            bits[i] = (uniforms[i] < p).long()
            context = ((context << 1) | bits[i]) & (num_contexts - 1)

        seq = bits.float()
        inputs = seq.unsqueeze(-1)
        targets = torch.zeros(steps, batch_size, 1)
        targets[:-1, :, 0] = seq[1:]
        mask = torch.zeros(steps, batch_size)
        mask[max(context_bits, 1) - 1 : steps - 1] = 1.0
        lengths = torch.full((batch_size,), steps, dtype=torch.long)
        return Batch(inputs, targets, mask, lengths)

    @torch.no_grad()
    def metrics(self, logits: Tensor, batch: Batch) -> dict[str, float]:
        """Base metrics plus ``optimal_cost_bits``: the optimal estimator's bits per sequence.

        The estimator is scored on exactly the model's masked steps.
        """
        result = super().metrics(logits, batch)
        bits = batch.inputs[..., 0]
        probs = optimal_predictions(bits, self.config.order).double()
        target = batch.targets[:-1, :, 0].double()
        # Clamp only guards log(0); the estimator never outputs exactly 0 or 1.
        probs = probs.clamp(1e-12, 1 - 1e-12)
        nats = -(target * probs.log() + (1 - target) * (1 - probs).log())
        cost = (nats * batch.mask[:-1].double()).sum(0) / LN2
        result["optimal_cost_bits"] = cost.mean().item()
        return result

    def render(self, batch: Batch, index: int = 0, logits: torch.Tensor | None = None) -> str:
        steps = int(batch.lengths[index])
        span = slice(0, steps)
        rows = {
            "input": batch.inputs[span, index],
            "target": batch.targets[span, index] * batch.mask[span, index, None],
        }
        if logits is not None:
            rows["output"] = torch.sigmoid(logits[span, index]) * batch.mask[span, index, None]
        return f"ngrams, order {self.config.order}, {steps} bits\n" + render_bits(rows)
