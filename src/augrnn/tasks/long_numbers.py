"""The Neural GPU's tasks (Kaiser & Sutskever 2015, §4): arithmetic on long numbers and the
copying tasks, one output digit per input position, trained on short operands and tested on
far longer ones.

Encoding (the paper's reference data): numbers are written little-endian (least significant
digit first); an episode's input is ``x + y`` (or ``x * y``, or ``x`` alone), one symbol per
position, padded with empty positions (all-zero inputs, the pad symbol embedded as 0) up to the
batch's longest. The target at position i is the result's digit i. Inputs (T, B, base + 2):
one-hot digits then the two operators ``+`` and ``*``; targets (T, B, 1) digit classes; only the
result's fixed-width digits are scored (``mask``): ``n + 1`` for a sum of two n-digit numbers
(its top digit may be 0), ``2n`` for a product, ``n`` for copy and reverse, ``2n`` for duplicate.

=============================== ============================== ====================================
task                            input (n digits per operand)   target
=============================== ============================== ====================================
``long_binary_addition``        x + y in binary, 2n + 1 long    x + y, n + 1 bits
``long_binary_multiplication``  x * y in binary, 2n + 1 long    x · y, 2n bits
``long_decimal_addition``       x + y in decimal                x + y, n + 1 digits
``long_copy``                   x (n decimal digits)            x
``long_reverse``                x                               x reversed
``long_duplicate``              x, then n empty positions       x twice
=============================== ============================== ====================================

The ``length`` of an episode is its n, one for a whole batch (U{min_n..max_n} in training,
drawn per batch as the paper's reference code batches by length; the paper trains on up to
20 digits with a curriculum, ``train.curriculum_start``, and tests on far longer numbers:
``augrnn eval RUN --lengths 20,50,100,200,500,2000``). The headline metric is the share of
episodes with a wrong digit (``sequence_error_rate``); ``step_error_rate`` is the share of
wrong digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from augrnn.settings import Range, at_least, check_sizes
from augrnn.tasks.base import Batch, ClassificationTask, TaskConfig, episode_sizes

#: Operator symbols after the digits in the input alphabet.
OPERATORS = "+*"
DIGIT_TEXT = "0123456789"


@dataclass
class LongNumbersConfig(TaskConfig):
    """Settings of the Neural GPU tasks: the range of operand lengths n in training (the paper:
    up to 20 digits)."""

    min_n: int = 1
    max_n: int = 20

    RANGES: ClassVar[dict[str, Range]] = {"min_n": at_least(1), "max_n": at_least(1)}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.min_n > self.max_n:
            raise ValueError(
                f"a long-number task needs min_n <= max_n, got min_n={self.min_n} > "
                f"max_n={self.max_n}"
            )


class LongNumbersTask(ClassificationTask):
    """An episode of operands of n digits in ``base`` whose input and target :meth:`episode`
    writes (digit lists, least significant first)."""

    config_class = LongNumbersConfig
    config: LongNumbersConfig
    length_name = "n"
    base: ClassVar[int]

    @property
    def input_size(self) -> int:
        return self.base + len(OPERATORS)

    @property
    def groups(self) -> int:
        return 1

    @property
    def classes(self) -> int:
        return self.base

    @property
    def train_lengths(self) -> tuple[int, int]:
        return (self.config.min_n, self.config.max_n)

    def input_length(self, n: int) -> int:
        """Positions of an episode of operand length n (the Neural GPU's width)."""
        return 2 * n + 1

    def episode(self, digits: Tensor) -> tuple[list[int], list[int]]:
        """Input symbols and target digits (little-endian) for the operand digits ``digits``
        (2, n): symbols are digits 0..base−1 and operators base, base + 1."""
        raise NotImplementedError

    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        c = self.config
        # One n for the whole batch (the paper's reference code batches by length): the model
        # runs as many steps as the batch is wide, so a mixed batch would cost its longest.
        n = int(episode_sizes(self.name, 1, c.min_n, c.max_n, generator, length, name="n"))
        check_sizes(self.name, batch_size=batch_size)
        steps = self.input_length(n)
        inputs = torch.zeros(steps, batch_size, self.input_size)
        targets = torch.zeros(steps, batch_size, 1, dtype=torch.long)
        mask = torch.zeros(steps, batch_size)
        for b in range(batch_size):
            symbols, result = self.episode(torch.randint(0, self.base, (2, n), generator=generator))
            inputs[torch.arange(len(symbols)), b, torch.tensor(symbols)] = 1.0
            targets[: len(result), b, 0] = torch.tensor(result)
            mask[: len(result), b] = 1.0
        # Every position of the batch's width belongs to its episodes (duplicate's empty half
        # too: the model has 2n positions to write on).
        input_mask = torch.ones(steps, batch_size)
        return Batch(inputs, targets, mask, torch.full((batch_size,), n), input_mask)

    def _text(self, symbols: list[int]) -> str:
        alphabet = DIGIT_TEXT[: self.base] + OPERATORS
        return "".join(alphabet[s] for s in symbols)

    def render(self, batch: Batch, index: int = 0, logits: Tensor | None = None) -> str:
        """Inputs and targets as written (little-endian, least significant digit first)."""
        present = batch.inputs[:, index].sum(-1) > 0
        symbols = batch.inputs[present, index].argmax(-1).tolist()
        scored = int(batch.mask[:, index].sum())
        lines = [
            f"{self.name}, n = {int(batch.lengths[index])} (least significant digit first)",
            f"input:     {self._text(symbols)}",
            f"target:    {self._text(batch.targets[:scored, index, 0].tolist())}",
        ]
        if logits is not None:
            predicted = self._grouped(logits, batch)[:scored, index, 0].argmax(-1).tolist()
            lines.append(f"predicted: {self._text(predicted)}")
        return "\n".join(lines)


def to_digits(value: int, base: int, width: int) -> list[int]:
    """``value``'s ``width`` lowest digits in ``base``, least significant first."""
    out = []
    for _ in range(width):
        value, digit = divmod(value, base)
        out.append(digit)
    return out


def from_digits(digits: list[int], base: int) -> int:
    """The number whose digits (least significant first) are ``digits``."""
    value = 0
    for digit in reversed(digits):
        value = value * base + digit
    return value


class _ArithmeticTask(LongNumbersTask):
    operator: ClassVar[str]

    def result_width(self, n: int) -> int:
        return n + 1 if self.operator == "+" else 2 * n

    def episode(self, digits: Tensor) -> tuple[list[int], list[int]]:
        x, y = digits.tolist()
        a, b = from_digits(x, self.base), from_digits(y, self.base)
        value = a + b if self.operator == "+" else a * b
        symbol = self.base + OPERATORS.index(self.operator)
        return x + [symbol] + y, to_digits(value, self.base, self.result_width(len(x)))


class LongBinaryAdditionTask(_ArithmeticTask):
    name = "long_binary_addition"
    description = "add two n-bit numbers, one output bit per input position (Neural GPU)"
    base = 2
    operator = "+"


class LongBinaryMultiplicationTask(_ArithmeticTask):
    name = "long_binary_multiplication"
    description = "multiply two n-bit numbers, one output bit per input position (Neural GPU)"
    base = 2
    operator = "*"


class LongDecimalAdditionTask(_ArithmeticTask):
    name = "long_decimal_addition"
    description = "add two n-digit decimal numbers, one output digit per position (Neural GPU)"
    base = 10
    operator = "+"


class _CopyingTask(LongNumbersTask):
    base = 10

    def input_length(self, n: int) -> int:
        return n


class LongCopyTask(_CopyingTask):
    name = "long_copy"
    description = "copy n decimal digits in place (Neural GPU)"

    def episode(self, digits: Tensor) -> tuple[list[int], list[int]]:
        x = digits[0].tolist()
        return x, x


class LongReverseTask(_CopyingTask):
    name = "long_reverse"
    description = "reverse n decimal digits in place (Neural GPU)"

    def episode(self, digits: Tensor) -> tuple[list[int], list[int]]:
        x = digits[0].tolist()
        return x, x[::-1]


class LongDuplicateTask(_CopyingTask):
    name = "long_duplicate"
    description = "write n decimal digits twice, over n positions then n empty ones (Neural GPU)"

    def input_length(self, n: int) -> int:
        return 2 * n

    def episode(self, digits: Tensor) -> tuple[list[int], list[int]]:
        x = digits[0].tolist()
        return x, x + x


LONG_NUMBER_TASKS = (
    LongBinaryAdditionTask,
    LongBinaryMultiplicationTask,
    LongDecimalAdditionTask,
    LongCopyTask,
    LongReverseTask,
    LongDuplicateTask,
)
