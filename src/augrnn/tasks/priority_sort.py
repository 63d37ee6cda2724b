"""Priority sort (NTM paper §4.5): write back the highest-priority vectors, highest first.

Each episode, with N = num_inputs and M = num_outputs:

- steps ``0 .. N-1``: random ``bits``-bit vectors on channels ``0 .. bits-1``, each with a scalar
  priority drawn from U[-1, 1] on channel ``bits``;
- step ``N``: the delimiter flag on channel ``bits + 1``;
- steps ``N+1 .. N+M``: zero input; the targets are the M highest-priority vectors in descending
  order of priority.

Input width ``bits + 2``, output width ``bits``; every episode lasts ``N + M + 1`` steps.

The ``length`` argument of :meth:`PrioritySortTask.sample` sets N; M then keeps the configured
ratio M/N (the paper's 16 of 20), rounded half up and at least 1:
``M = max(1, floor(length * num_outputs / num_inputs + 1/2))``, which never exceeds ``length``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from augrnn.settings import Range, at_least, check_integers
from augrnn.tasks.base import Batch, Task, TaskConfig, random_bits, render_bits


@dataclass
class PrioritySortConfig(TaskConfig):
    bits: int = 8
    num_inputs: int = 20
    num_outputs: int = 16

    RANGES: ClassVar[dict[str, Range]] = {
        "bits": at_least(1),
        "num_inputs": at_least(1),
        "num_outputs": at_least(1),
    }


class PrioritySortTask(Task):
    name = "priority_sort"
    description = "write back the 16 highest-priority of 20 vectors, in priority order (NTM §4.5)"
    config_class = PrioritySortConfig
    config: PrioritySortConfig
    length_name = "inputs"

    def __init__(self, config: PrioritySortConfig | None = None):
        super().__init__(config)
        c = self.config
        if c.bits < 1:
            raise ValueError(f"priority_sort needs bits >= 1, got {c}")
        if not 1 <= c.num_outputs <= c.num_inputs:
            raise ValueError(f"priority_sort needs 1 <= num_outputs <= num_inputs, got {c}")

    @property
    def input_size(self) -> int:
        return self.config.bits + 2

    @property
    def output_size(self) -> int:
        return self.config.bits

    @property
    def train_lengths(self) -> tuple[int, int]:
        return (self.config.num_inputs, self.config.num_inputs)

    def num_outputs_for(self, num_inputs: int) -> int:
        """How many vectors an episode with ``num_inputs`` inputs writes back (see module doc)."""
        c = self.config
        # Integer round-half-up of num_inputs * num_outputs / c.num_inputs, exact for any size.
        scaled = (2 * num_inputs * c.num_outputs + c.num_inputs) // (2 * c.num_inputs)
        return max(1, scaled)

    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        """Draw episodes; ``length`` sets the number of inputs N (outputs scale with it)."""
        c = self.config
        check_integers("priority_sort", batch_size=batch_size, length=length)
        if batch_size < 1:
            raise ValueError(f"priority_sort batch_size must be >= 1, got {batch_size}")
        if length is not None and length < 1:
            raise ValueError(f"priority_sort length (number of inputs) must be >= 1, got {length}")
        n_in = c.num_inputs if length is None else length
        n_out = self.num_outputs_for(n_in)
        bits = c.bits
        total = n_in + n_out + 1

        vectors = random_bits((n_in, batch_size, bits), generator)
        priorities = torch.rand(n_in, batch_size, generator=generator) * 2 - 1
        # Ties have probability ~0; a stable sort keeps them in input order regardless.
        order = torch.sort(priorities, dim=0, descending=True, stable=True).indices[:n_out]

        inputs = torch.zeros(total, batch_size, bits + 2)
        targets = torch.zeros(total, batch_size, bits)
        mask = torch.zeros(total, batch_size)
        inputs[:n_in, :, :bits] = vectors
        inputs[:n_in, :, bits] = priorities
        inputs[n_in, :, bits + 1] = 1.0
        targets[n_in + 1 :] = vectors[order, torch.arange(batch_size)]
        mask[n_in + 1 :] = 1.0
        lengths = torch.full((batch_size,), n_in, dtype=torch.long)
        return Batch(inputs, targets, mask, lengths)

    def render(self, batch: Batch, index: int = 0, logits: torch.Tensor | None = None) -> str:
        n_in = int(batch.lengths[index])
        n_out = int(batch.mask[:, index].sum())
        span = slice(0, n_in + n_out + 1)
        rows = {
            "input": batch.inputs[span, index],
            "target": batch.targets[span, index] * batch.mask[span, index, None],
        }
        if logits is not None:
            rows["output"] = torch.sigmoid(logits[span, index]) * batch.mask[span, index, None]
        # Priorities are real numbers and the grid only marks those >= 0.5, so list them too.
        values = batch.inputs[:n_in, index, self.config.bits].tolist()
        priorities = " ".join(f"{p:+.2f}" for p in values)
        header = f"priority_sort, {n_in} inputs, {n_out} outputs\npriorities: {priorities}\n"
        return header + render_bits(rows)
