"""Algorithmic patterns (Joulin & Mikolov 2015, §4): predict the next symbol of a sequence of a
counting language, of a string and its reverse, or of a binary sum.

An episode is one sequence followed by the first symbol of the next one (the paper streams
sequences without boundaries; here the model's state starts afresh each episode). Inputs
(T, B, A) one-hot symbols of the task's alphabet; targets (T, B, 1) the next symbol. Only the
deterministically predictable symbols are scored and trained on (``mask``); the paper trains on
every symbol and scores these: a sequence is right when all of them are (the headline metric is
the share of sequences with one wrong, ``sequence_error_rate``). The ``length`` of an episode is
its n, U{min_n..max_n} in training (the paper: n < 20, raised during training:
``train.curriculum_start``); the paper tests n up to 60: ``augrnn eval RUN --lengths 20,40,60``.

=====================  ==========================  ================================================
task                   a sequence                  scored (deterministic) targets
=====================  ==========================  ================================================
``anbn``               aⁿbⁿ                        from the second b on, and the next sequence's a
``anbncn``             aⁿbⁿcⁿ                      likewise, from the second b
``anbncndn``           aⁿbⁿcⁿdⁿ                    likewise
``anb2n``              aⁿb²ⁿ                       likewise
``anbmcnm``            aⁿbᵐcⁿ⁺ᵐ, m ~ U{1..n}       from the second c on
``memorisation``       x = n symbols of {1, 2},    the reverse of x, then the next sequence's first
                       then =, then x reversed     symbol (unpredictable, so not scored)
``binary_addition``    x+y= then x + y in binary,  the sum's digits and the closing .
                       reversed, then .
=====================  ==========================  ================================================

In ``binary_addition`` x and y have at most n binary digits (the leading one 1), x's exactly n.
"""

from __future__ import annotations

import random
from abc import abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from augrnn.settings import Range, at_least
from augrnn.tasks.base import Batch, ClassificationTask, TaskConfig, episode_sizes


@dataclass
class PatternConfig(TaskConfig):
    """Settings of the pattern tasks: the range of n in training (the paper: below 20)."""

    min_n: int = 1
    max_n: int = 19

    RANGES: ClassVar[dict[str, Range]] = {"min_n": at_least(1), "max_n": at_least(1)}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.min_n > self.max_n:
            raise ValueError(
                f"a pattern task needs min_n <= max_n, got min_n={self.min_n} > max_n={self.max_n}"
            )


class PatternTask(ClassificationTask):
    """A next-symbol task over ``alphabet`` whose sequences :meth:`sequence` draws."""

    config_class = PatternConfig
    config: PatternConfig
    length_name = "n"
    alphabet: ClassVar[str]

    @property
    def input_size(self) -> int:
        return len(self.alphabet)

    @property
    def groups(self) -> int:
        return 1

    @property
    def classes(self) -> int:
        return len(self.alphabet)

    @property
    def train_lengths(self) -> tuple[int, int]:
        return (self.config.min_n, self.config.max_n)

    @abstractmethod
    def sequence(self, n: int, rng: random.Random) -> tuple[str, int, bool]:
        """One sequence of size ``n``, the index of the first symbol predictable from the ones
        before it, and whether the symbol after the sequence (the next one's first) is."""

    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        c = self.config
        sizes = episode_sizes(
            self.name, batch_size, c.min_n, c.max_n, generator, length, name="n"
        ).tolist()
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        rng = random.Random(seed)
        episodes = [self.sequence(n, rng) for n in sizes]
        first_symbol = self.sequence(1, rng)[0][0]
        steps = max(len(text) for text, _, _ in episodes)
        index = {symbol: i for i, symbol in enumerate(self.alphabet)}
        inputs = torch.zeros(steps, batch_size, self.input_size)
        targets = torch.zeros(steps, batch_size, 1, dtype=torch.long)
        mask = torch.zeros(steps, batch_size)
        input_mask = torch.zeros(steps, batch_size)
        for b, (text, predictable, next_predictable) in enumerate(episodes):
            ids = [index[s] for s in text + first_symbol]
            t = len(text)
            inputs[torch.arange(t), b, ids[:t]] = 1.0
            targets[:t, b, 0] = torch.tensor(ids[1:])
            # Target j is symbol j + 1: scored from the first predictable symbol on.
            mask[max(0, predictable - 1) : t - 1, b] = 1.0
            mask[t - 1, b] = float(next_predictable)
            input_mask[:t, b] = 1.0
        return Batch(inputs, targets, mask, torch.tensor(sizes), input_mask)

    def describe_size(self, size: int) -> str:
        return f"n = {size}"

    def render(self, batch: Batch, index: int = 0, logits: Tensor | None = None) -> str:
        steps = int(batch.input_mask[:, index].sum())
        text = "".join(self.alphabet[i] for i in batch.inputs[:steps, index].argmax(-1).tolist())
        scored = batch.mask[:steps, index] > 0
        lines = [
            f"{self.name}, {self.describe_size(int(batch.lengths[index]))}",
            f"sequence:  {text}",
            f"scored:    {''.join('^' if s else ' ' for s in scored.tolist())}",
        ]
        if logits is not None:
            predicted = self._grouped(logits, batch)[:steps, index, 0].argmax(-1).tolist()
            lines.append(f"predicted:  {''.join(self.alphabet[i] for i in predicted)}")
        return "\n".join(lines)


class _CountingTask(PatternTask):
    """aⁿ then runs of other letters whose lengths are multiples of n: all predictable once the
    second letter appears."""

    alphabet = "abcd"
    #: (letter, multiple of n) after the run of a's.
    runs: ClassVar[tuple[tuple[str, int], ...]]

    def sequence(self, n: int, rng: random.Random) -> tuple[str, int, bool]:
        text = "a" * n + "".join(letter * (k * n) for letter, k in self.runs)
        return text, n + 1, True


class AnBnTask(_CountingTask):
    name = "anbn"
    description = "predict the next symbol of aⁿbⁿ (Joulin & Mikolov 2015)"
    runs = (("b", 1),)


class AnBnCnTask(_CountingTask):
    name = "anbncn"
    description = "predict the next symbol of aⁿbⁿcⁿ"
    runs = (("b", 1), ("c", 1))


class AnBnCnDnTask(_CountingTask):
    name = "anbncndn"
    description = "predict the next symbol of aⁿbⁿcⁿdⁿ"
    runs = (("b", 1), ("c", 1), ("d", 1))


class AnB2nTask(_CountingTask):
    name = "anb2n"
    description = "predict the next symbol of aⁿb²ⁿ"
    runs = (("b", 2),)


class AnBmCnmTask(PatternTask):
    name = "anbmcnm"
    description = "predict the next symbol of aⁿbᵐcⁿ⁺ᵐ, m ~ U{1..n}"
    alphabet = "abc"

    def sequence(self, n: int, rng: random.Random) -> tuple[str, int, bool]:
        m = rng.randint(1, n)
        return "a" * n + "b" * m + "c" * (n + m), n + m + 1, True


class MemorisationTask(PatternTask):
    name = "memorisation"
    description = "predict the next symbol of x=reverse(x), x of n symbols of {1, 2}"
    alphabet = "12="

    def sequence(self, n: int, rng: random.Random) -> tuple[str, int, bool]:
        x = "".join(rng.choice("12") for _ in range(n))
        return x + "=" + x[::-1], n + 1, False


class BinaryAdditionTask(PatternTask):
    name = "binary_addition"
    description = "predict the reversed binary sum after x+y= (x of n digits, y of at most n)"
    alphabet = "01+=."

    def sequence(self, n: int, rng: random.Random) -> tuple[str, int, bool]:
        x = rng.randrange(2 ** (n - 1), 2**n)
        y = rng.randrange(0, 2**n)
        question = f"{x:b}+{y:b}="
        return question + f"{x + y:b}"[::-1] + ".", len(question), False


PATTERN_TASKS = (
    AnBnTask,
    AnBnCnTask,
    AnBnCnDnTask,
    AnB2nTask,
    AnBmCnmTask,
    MemorisationTask,
    BinaryAdditionTask,
)
