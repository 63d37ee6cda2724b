"""Written addition: read "a+b" in decimal characters, then write the sum; and the same in
binary (``written_binary_addition``), the encoder-decoder's version of the Neural GPU's
``long_binary_addition``.

Source: two non-negative integers a and b written in decimal without leading zeros ("0" is the one
number of one digit that starts with 0), joined by "+"; each has D digits with D drawn on its own
from U{min_digits..max_digits} = U{1..5}, uniform over the D-digit numbers. Target: the decimal sum
a + b, then EOS. ``lengths`` holds the larger of the two digit counts; the ``length`` argument of
:meth:`WrittenAdditionTask.sample` gives both operands that many digits, beyond max_digits too.

``written_binary_addition`` writes both numbers and the sum in binary, most significant bit
first and without leading zeros, with D from U{1..20} (the Neural GPU's training range).

Token-id shapes as for every :class:`~augrnn.tasks.text.Seq2SeqTask`: inputs (S, B) with S at
most 2 max D + 1, targets (T, B) with T at most max D + 2 (a carry digit and EOS).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

import torch

from augrnn.settings import Range, at_least
from augrnn.tasks.base import Batch, TaskConfig, episode_sizes
from augrnn.tasks.text import Seq2SeqTask, Vocabulary

DIGITS = "0123456789"


@dataclass
class WrittenAdditionConfig(TaskConfig):
    min_digits: int = 1
    max_digits: int = 5

    RANGES: ClassVar[dict[str, Range]] = {
        "min_digits": at_least(1),
        "max_digits": at_least(1),
    }


class WrittenAdditionTask(Seq2SeqTask):
    name = "written_addition"
    description = 'read "a+b" with 1-5 digit numbers in decimal, write the sum'
    config_class = WrittenAdditionConfig
    config: WrittenAdditionConfig
    length_name = "digits"
    source_vocab = Vocabulary("0123456789+")
    target_vocab = Vocabulary("0123456789")
    #: The numbers' base: 10, or 2 (binary).
    base = 10

    def __init__(self, config: WrittenAdditionConfig | None = None):
        super().__init__(config)
        c = self.config
        if not 1 <= c.min_digits <= c.max_digits:
            raise ValueError(f"written_addition needs 1 <= min_digits <= max_digits, got {c}")

    @property
    def train_lengths(self) -> tuple[int, int]:
        return (self.config.min_digits, self.config.max_digits)

    def source_notes(self, text: str) -> list[str]:
        """A source is two numbers joined by "+" (a ``ValueError`` otherwise); numbers with more
        digits than any in training are outside the training distribution."""
        notes = super().source_notes(text)
        digit = f"[{DIGITS[: self.base]}]"
        if not re.fullmatch(f"{digit}+\\+{digit}+", text):
            example = "12+345" if self.base == 10 else "110+1011"
            raise ValueError(
                f"{self.name} reads two numbers joined by '+', such as {example}, got {text!r}"
            )
        widest = max(len(number) for number in text.split("+"))
        if widest > self.config.max_digits:
            notes.append(
                f"a number of {widest} digits, more than any in training "
                f"({self.config.max_digits}): outside the training distribution"
            )
        return notes

    def output_problem(self, source: str, output: str) -> str | None:
        if not output:
            return "no output"
        return "a number with a leading zero" if len(output) > 1 and output[0] == "0" else None

    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        """Draw episodes; ``length`` fixes the digit count of both operands."""
        c = self.config
        first = episode_sizes(
            self.name, batch_size, c.min_digits, c.max_digits, generator, length, name="digits"
        )
        if length is None:
            second = torch.randint(
                c.min_digits, c.max_digits + 1, (batch_size,), generator=generator
            )
        else:
            second = first
        digit_counts = torch.stack([first, second], 1)  # (B, 2)
        widest = int(digit_counts.max())
        leading = torch.randint(1, self.base, (batch_size, 2), generator=generator)
        digits = torch.randint(0, self.base, (batch_size, 2, widest), generator=generator)
        # A one-digit number may be 0; a longer one starts with 1-9 so it has no leading zero.
        digits[..., 0] = torch.where(digit_counts == 1, digits[..., 0], leading)

        sources, targets = [], []
        for rows, counts in zip(digits.tolist(), digit_counts.tolist(), strict=True):
            a, b = ("".join(map(str, row[:count])) for row, count in zip(rows, counts, strict=True))
            sources.append(f"{a}+{b}")
            total = int(a, self.base) + int(b, self.base)
            targets.append(format(total, "b" if self.base == 2 else "d"))
        return self.make_batch(sources, targets, digit_counts.max(1).values)


@dataclass
class WrittenBinaryAdditionConfig(WrittenAdditionConfig):
    min_digits: int = 1
    max_digits: int = 20


class WrittenBinaryAdditionTask(WrittenAdditionTask):
    name = "written_binary_addition"
    description = 'read "a+b" with 1-20 bit numbers in binary, write the sum'
    config_class = WrittenBinaryAdditionConfig
    length_name = "bits"
    source_vocab = Vocabulary("01+")
    target_vocab = Vocabulary("01")
    base = 2
