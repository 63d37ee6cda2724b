"""Associative recall (NTM paper §4.3): given one item of a list, recall the item that followed it.

An item is ``item_length`` random ``bits``-bit vectors. With n = item_length, each episode of
K ~ U{min_items..max_items} items is laid out as:

- for item i in ``0 .. K-1``: step ``i*(n+1)`` carries the item-delimiter flag on channel
  ``bits``, and steps ``i*(n+1)+1 .. i*(n+1)+n`` carry the item's vectors;
- step ``K*(n+1)``: the query-delimiter flag on channel ``bits + 1``;
- steps ``K*(n+1)+1 .. K*(n+1)+n``: the query, a copy of item q with q ~ U{0..K-2};
- step ``K*(n+1)+n+1``: the query-delimiter flag again;
- steps ``K*(n+1)+n+2 .. (K+2)*(n+1)-1``: zero input; the target is item q+1.

Input width ``bits + 2``, output width ``bits``; an episode lasts ``(K+2)*(n+1)`` steps, and shorter
episodes in a batch are padded with zeros and masked out. Items are drawn independently, so two
items may coincide (probability about K^2 / 2^(bits*n+1), negligible for the paper's 18-bit items);
the target is then still the successor of the item that was copied into the query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from augrnn.settings import Range, at_least
from augrnn.tasks.base import Batch, Task, TaskConfig, episode_sizes, random_bits, render_bits


@dataclass
class AssociativeRecallConfig(TaskConfig):
    bits: int = 6
    item_length: int = 3
    min_items: int = 2
    max_items: int = 6

    RANGES: ClassVar[dict[str, Range]] = {
        "bits": at_least(1),
        "item_length": at_least(1),
        "min_items": at_least(2),
        "max_items": at_least(2),
    }


class AssociativeRecallTask(Task):
    name = "associative_recall"
    description = "recall the item that followed a query item in a list (NTM §4.3)"
    config_class = AssociativeRecallConfig
    config: AssociativeRecallConfig
    length_name = "items"

    def __init__(self, config: AssociativeRecallConfig | None = None):
        super().__init__(config)
        c = self.config
        if c.bits < 1 or c.item_length < 1:
            raise ValueError(f"associative_recall needs bits >= 1 and item_length >= 1, got {c}")
        # The queried item needs a successor, so an episode holds at least two items.
        if not 2 <= c.min_items <= c.max_items:
            raise ValueError(f"associative_recall needs 2 <= min_items <= max_items, got {c}")

    @property
    def input_size(self) -> int:
        return self.config.bits + 2

    @property
    def output_size(self) -> int:
        return self.config.bits

    @property
    def train_lengths(self) -> tuple[int, int]:
        return (self.config.min_items, self.config.max_items)

    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        """Draw episodes; ``length`` fixes the number of items K for every episode."""
        c = self.config
        # The queried item needs a successor, so an episode holds at least two items.
        counts = episode_sizes(
            self.name,
            batch_size,
            c.min_items,
            c.max_items,
            generator,
            length,
            name="items",
            minimum=2,
        )

        bits, n = c.bits, c.item_length
        max_items = int(counts.max())
        total = (max_items + 2) * (n + 1)
        batch_index = torch.arange(batch_size)

        items = random_bits((max_items, n, batch_size, bits), generator)
        present = torch.arange(max_items).unsqueeze(1) < counts  # (max_items, B)
        items = items * present[:, None, :, None]  # zero the item slots past each K
        # q ~ U{0..K-2}, drawn in float64 so floor(u * (K-1)) is exact; clamp guards rounding.
        u = torch.rand(batch_size, generator=generator, dtype=torch.float64)
        query = torch.minimum((u * (counts - 1)).long(), counts - 2)

        inputs = torch.zeros(total, batch_size, bits + 2)
        targets = torch.zeros(total, batch_size, bits)
        mask = torch.zeros(total, batch_size)
        # Item slots: a delimiter row followed by the n vectors, for every slot at once.
        body = torch.zeros(max_items, n + 1, batch_size, bits + 2)
        body[:, 0, :, bits] = present.float()
        body[:, 1:, :, :bits] = items
        inputs[: max_items * (n + 1)] = body.reshape(max_items * (n + 1), batch_size, bits + 2)

        start = counts * (n + 1)  # where each episode's query section begins
        inputs[start, batch_index, bits + 1] = 1.0
        inputs[start + n + 1, batch_index, bits + 1] = 1.0
        j = torch.arange(n).unsqueeze(1)  # (n, 1): position within an item
        b_idx = batch_index.expand(n, -1)
        inputs[start + 1 + j, b_idx, :bits] = items[query, j, b_idx]
        targets[start + n + 2 + j, b_idx] = items[query + 1, j, b_idx]
        mask[start + n + 2 + j, b_idx] = 1.0
        return Batch(inputs, targets, mask, counts)

    def render(self, batch: Batch, index: int = 0, logits: torch.Tensor | None = None) -> str:
        count = int(batch.lengths[index])
        span = slice(0, (count + 2) * (self.config.item_length + 1))
        rows = {
            "input": batch.inputs[span, index],
            "target": batch.targets[span, index] * batch.mask[span, index, None],
        }
        if logits is not None:
            rows["output"] = torch.sigmoid(logits[span, index]) * batch.mask[span, index, None]
        return f"associative_recall, {count} items\n" + render_bits(rows)
