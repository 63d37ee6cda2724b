"""Addition (ACT paper §3.3): the running sum of a sequence of decimal numbers.

Each episode is L input vectors (L ~ U{min_length..max_length}, the paper's 1 to 5). Vector t is a
D-digit number (D ~ U{min_digits..max_digits}, drawn per number, the paper's 1 to 5; each digit
uniform over 0-9, so a number may start with 0): its digits in written order, most significant
first, as D one-hot chunks of 10 followed by zero chunks for the unused digit slots. Input width
``10 max_digits`` (the paper's 50).

The target at step t >= 1 is the sum of numbers 0 .. t, written the same way, most significant
digit first, as ``groups`` classifications of 11 classes (the paper's 6 of 11): classes 0-9 are
digits and class 10 (:data:`END`) fills the positions past the sum's last digit. The first step
has no target ("no sums have yet been calculated"), so its mask is 0; unscored steps hold class 0.
``groups`` is the number of digits of the largest sum, ``max_length`` numbers of ``max_digits``
nines.

Shapes: inputs (T, B, 10 max_digits), targets (T, B, groups) long, mask (T, B) 1 on steps
1 .. L-1, input_mask (T, B) 1 on steps 0 .. L-1, with T the longest L in the batch. The
``length`` argument of :meth:`AdditionTask.sample` fixes L, up to the most numbers whose sum still
fits in ``groups`` digits (10 for the paper's settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from augrnn.settings import Range, at_least
from augrnn.tasks.base import Batch, ClassificationTask, TaskConfig, episode_sizes

#: The class that marks a sum position past the sum's last digit (the paper's '*').
END = 10


@dataclass
class AdditionConfig(TaskConfig):
    min_length: int = 1
    max_length: int = 5
    min_digits: int = 1
    max_digits: int = 5

    RANGES: ClassVar[dict[str, Range]] = {
        "min_length": at_least(1),
        "max_length": at_least(1),
        "min_digits": at_least(1),
        "max_digits": at_least(1),
    }


class AdditionTask(ClassificationTask):
    name = "addition"
    description = "running sum of 1-5 decimal numbers of 1-5 digits, 6 digits out (ACT §3.3)"
    config_class = AdditionConfig
    config: AdditionConfig

    def __init__(self, config: AdditionConfig | None = None):
        super().__init__(config)
        c = self.config
        if not 1 <= c.min_length <= c.max_length:
            raise ValueError(f"addition needs 1 <= min_length <= max_length, got {c}")
        if not 1 <= c.min_digits <= c.max_digits:
            raise ValueError(f"addition needs 1 <= min_digits <= max_digits, got {c}")
        largest_number = 10**c.max_digits - 1
        self._groups = len(str(c.max_length * largest_number))
        # Sums are computed in int64.
        if self._groups > 18:
            raise ValueError(f"addition sums must stay below 10^18, got {c}")
        self.max_supported_length = (10**self._groups - 1) // largest_number

    @property
    def groups(self) -> int:
        return self._groups

    @property
    def classes(self) -> int:
        return 11

    @property
    def input_size(self) -> int:
        return 10 * self.config.max_digits

    @property
    def train_lengths(self) -> tuple[int, int]:
        return (self.config.min_length, self.config.max_length)

    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        """Draw episodes; ``length`` fixes the number of input numbers L."""
        c = self.config
        if length is not None and length > self.max_supported_length:
            raise ValueError(
                f"addition length must be <= {self.max_supported_length} so that the sum fits "
                f"in {self.groups} digits, got {length}"
            )
        lengths = episode_sizes(
            self.name, batch_size, c.min_length, c.max_length, generator, length
        )
        steps = int(lengths.max())
        time = torch.arange(steps).unsqueeze(1)
        episode = time < lengths  # (T, B)

        digit_counts = torch.randint(
            c.min_digits, c.max_digits + 1, (steps, batch_size, 1), generator=generator
        )
        digits = torch.randint(0, 10, (steps, batch_size, c.max_digits), generator=generator)
        slot = torch.arange(c.max_digits)
        used = (slot < digit_counts) & episode.unsqueeze(-1)  # (T, B, max_digits)
        place = (digit_counts - 1 - slot).clamp_min(0)
        numbers = (digits * 10**place * used).sum(-1)  # (T, B)

        inputs = torch.zeros(steps, batch_size, c.max_digits, 10)
        inputs.scatter_(-1, digits.unsqueeze(-1), used.unsqueeze(-1).float())
        inputs = inputs.flatten(2)

        sums = numbers.cumsum(0)
        targets = self.sum_classes(sums) * (time >= 1).unsqueeze(-1) * episode.unsqueeze(-1)
        mask = (episode & (time >= 1)).float()
        return Batch(inputs, targets, mask, lengths, episode.float())

    def sum_classes(self, sums: torch.Tensor) -> torch.Tensor:
        """Non-negative sums (...) -> (..., groups) classes: their digits, most significant
        first, then :data:`END` to fill ``groups`` positions."""
        position = torch.arange(self.groups)
        powers = 10 ** torch.arange(1, self.groups)
        num_digits = 1 + (sums.unsqueeze(-1) >= powers).sum(-1, keepdim=True)
        place = num_digits - 1 - position
        digit = sums.unsqueeze(-1) // 10 ** place.clamp_min(0) % 10
        return torch.where(place >= 0, digit, torch.full_like(digit, END))

    def render(self, batch: Batch, index: int = 0, logits: torch.Tensor | None = None) -> str:
        length = int(batch.lengths[index])
        symbols = "0123456789*"
        number_width = max(5, self.config.max_digits)
        sum_width = max(6, self.groups)
        header = f"step  {'input':{number_width}}  {'target':{sum_width}}"
        lines = [f"addition, {length} numbers", header + ("  output" if logits is not None else "")]
        for t in range(length):
            chunks = batch.inputs[t, index].view(self.config.max_digits, 10)
            number = "".join(str(int(ch.argmax())) if ch.sum() > 0 else "-" for ch in chunks)
            target = output = ""
            if batch.mask[t, index] == 0:
                target = "(none)"
            else:
                target = "".join(symbols[k] for k in batch.targets[t, index].tolist())
                if logits is not None:
                    predicted = logits[t, index].view(self.groups, self.classes).argmax(-1)
                    output = "".join(symbols[k] for k in predicted.tolist())
            lines.append(
                f"{t:4d}  {number:{number_width}}  {target:{sum_width}}  {output}".rstrip()
            )
        return "\n".join(lines)
