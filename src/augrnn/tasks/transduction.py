"""Transduction of random symbol strings (Grefenstette et al. 2015, §4.1 "Synthetic
transduction tasks"): read a source, then write its copy, its reversal or its bigram flip.

An episode is one sequence through one recurrent network, as in the paper (⟨s⟩ source |||
target ⟨/s⟩): a start symbol, the L source symbols, a separator, then L + 1 output steps that
write the target and the end symbol ⟨/s⟩. The output steps read a blank symbol (the paper
feeds the previous target symbol in training and the model's own in greedy decoding; a blank
needs no decoding loop and leaves the model the same information in training and testing).

Symbols are drawn uniformly from ``symbols`` (the paper: 128); L ~ U{min_length..max_length}
(the paper trains on 8-64 and tests on 65-128: ``augrnn eval RUN --task.min_length=65
--task.max_length=128``). Inputs (T, B, symbols + 3) one-hot (the symbols, then ⟨s⟩, |||, the
blank), T = 2 L + 3 for the longest episode, the tail of shorter ones zero; targets (T, B, 1)
class indices over symbols + 1 classes (⟨/s⟩ last), scored on the L + 1 output steps.

Scores (the paper's): ``coarse_accuracy``, the fraction of episodes whose whole target is
right; ``fine_accuracy``, the mean over episodes of the fraction of the target (⟨/s⟩ included)
right before the first error.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from augrnn.settings import Range, at_least
from augrnn.tasks.base import Batch, ClassificationTask, TaskConfig, episode_sizes


@dataclass
class TransductionConfig(TaskConfig):
    """Settings of the transduction tasks: the symbols and the source length range (the
    paper's training range)."""

    symbols: int = 128
    min_length: int = 8
    max_length: int = 64

    RANGES: ClassVar[dict[str, Range]] = {
        "symbols": at_least(2),
        "min_length": at_least(1),
        "max_length": at_least(1),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.min_length > self.max_length:
            raise ValueError(
                f"a transduction task needs min_length <= max_length, got {self.min_length} > "
                f"{self.max_length}"
            )


class TransductionTask(ClassificationTask):
    """A source string, then a target that is a rearrangement of it (see the module)."""

    config_class = TransductionConfig
    config: TransductionConfig
    length_name = "source length"

    @property
    def symbols(self) -> int:
        """The symbols a source or target may hold (the paper: 128)."""
        return self.config.symbols

    @property
    def start(self) -> int:
        return self.symbols

    @property
    def separator(self) -> int:
        return self.symbols + 1

    @property
    def blank(self) -> int:
        return self.symbols + 2

    @property
    def end(self) -> int:
        """The class of ⟨/s⟩."""
        return self.symbols

    @property
    def input_size(self) -> int:
        return self.symbols + 3

    @property
    def groups(self) -> int:
        return 1

    @property
    def classes(self) -> int:
        return self.symbols + 1

    @property
    def train_lengths(self) -> tuple[int, int]:
        return (self.config.min_length, self.config.max_length)

    @abstractmethod
    def episodes(
        self, batch_size: int, generator: torch.Generator, length: int | None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Draw the sources and their targets: (source (L_max, B), target (L_max, B), lengths
        (B,)), symbols in [0, symbols), each target as long as its source; the rows past an
        episode's length are ignored."""

    def episode_lengths(
        self, batch_size: int, generator: torch.Generator, length: int | None
    ) -> Tensor:
        c = self.config
        return episode_sizes(self.name, batch_size, c.min_length, c.max_length, generator, length)

    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        source, target, lengths = self.episodes(batch_size, generator, length)
        longest = source.shape[0]
        steps = torch.arange(2 * longest + 3).unsqueeze(1)  # (T, 1)
        span = lengths.unsqueeze(0)  # (1, B)
        in_source = (steps >= 1) & (steps <= span)
        source_token = source.gather(0, (steps - 1).clamp(0, longest - 1).expand(-1, batch_size))
        output_step = steps - span - 2  # k, from 0 at the first output step
        in_output = (output_step >= 0) & (output_step <= span)
        token = torch.full_like(source_token, -1)
        token = torch.where(steps == 0, self.start, token)
        token = torch.where(in_source, source_token, token)
        token = torch.where(steps == span + 1, self.separator, token)
        token = torch.where(in_output, self.blank, token)
        inputs = torch.nn.functional.one_hot(token.clamp_min(0), self.input_size).float()
        inputs = inputs * (token >= 0).unsqueeze(-1)
        written = target.gather(0, output_step.clamp(0, longest - 1).expand(-1, batch_size))
        targets = torch.where(output_step < span, written, self.end)
        targets = torch.where(in_output, targets, 0).unsqueeze(-1)
        return Batch(inputs, targets, in_output.float(), lengths, (token >= 0).float())

    @torch.no_grad()
    def metrics(self, logits: Tensor, batch: Batch) -> dict[str, float]:
        """The classification metrics, and the paper's ``coarse_accuracy`` and
        ``fine_accuracy`` (see the module)."""
        scores = super().metrics(logits, batch)
        right = (self._grouped(logits, batch).argmax(-1) == batch.targets).all(-1)
        scored = batch.mask > 0
        # Right so far on every scored step up to this one (unscored steps pass).
        prefix = torch.cumprod((right | ~scored).to(logits.dtype), dim=0)
        fine = (prefix * batch.mask).sum(0) / batch.mask.sum(0).clamp_min(1)
        scores["coarse_accuracy"] = 1.0 - scores["sequence_error_rate"]
        scores["fine_accuracy"] = fine.mean().item()
        return scores

    def describe_size(self, size: int) -> str:
        return f"a source of {size} symbols"

    def render(self, batch: Batch, index: int = 0, logits: Tensor | None = None) -> str:
        length = int(batch.lengths[index])
        source = batch.inputs[1 : length + 1, index].argmax(-1).tolist()
        scored = batch.mask[:, index] > 0
        lines = [
            f"{self.name}, {self.describe_size(length)}",
            f"source:  {self.words(source)}",
            f"target:  {self.words(batch.targets[scored, index, 0].tolist())}",
        ]
        if logits is not None:
            predicted = self._grouped(logits, batch)[scored, index, 0].argmax(-1).tolist()
            lines.append(f"output:  {self.words(predicted)}")
        return "\n".join(lines)

    def word(self, token: int) -> str:
        """How ``render`` writes a symbol."""
        return str(token)

    def words(self, tokens: list[int]) -> str:
        return " ".join("</s>" if t == self.end else self.word(t) for t in tokens)


class RandomStringTask(TransductionTask):
    """Sources of uniformly random symbols; the target writes, at output step k, the source
    symbol at :meth:`source_positions`."""

    @abstractmethod
    def source_positions(self, steps: Tensor, lengths: Tensor) -> Tensor:
        """The source position written at output step k: (K, 1) steps k, (1, B) lengths L ->
        (K, B), in [0, L) where k < L."""

    def episodes(
        self, batch_size: int, generator: torch.Generator, length: int | None
    ) -> tuple[Tensor, Tensor, Tensor]:
        lengths = self.episode_lengths(batch_size, generator, length)
        longest = int(lengths.max())
        source = torch.randint(0, self.symbols, (longest, batch_size), generator=generator)
        steps = torch.arange(longest).unsqueeze(1)
        position = self.source_positions(steps, lengths.unsqueeze(0)).clamp(0, longest - 1)
        return source, source.gather(0, position.expand(-1, batch_size)), lengths


class TransductionCopyTask(RandomStringTask):
    name = "transduction_copy"
    description = "write a string of 8-64 random symbols (of 128) again"

    def source_positions(self, steps: Tensor, lengths: Tensor) -> Tensor:
        return steps


class TransductionReversalTask(RandomStringTask):
    name = "transduction_reversal"
    description = "write a string of 8-64 random symbols (of 128) backwards"

    def source_positions(self, steps: Tensor, lengths: Tensor) -> Tensor:
        return lengths - 1 - steps


class BigramFlipTask(RandomStringTask):
    """Bigram flipping: a₁a₂a₃a₄… → a₂a₁a₄a₃…, on sources of even length (an odd length drawn
    is made even by one symbol less; a fixed odd length is an error)."""

    name = "bigram_flip"
    description = "swap each pair of a string of 8-64 random symbols (of 128)"

    def episode_lengths(
        self, batch_size: int, generator: torch.Generator, length: int | None
    ) -> Tensor:
        if length is not None and (length < 2 or length % 2):
            raise ValueError(f"bigram_flip needs an even source length >= 2, got {length}")
        c = self.config
        if c.max_length < 2 or (c.min_length == c.max_length and c.min_length % 2):
            raise ValueError(
                f"bigram_flip needs an even source length in [{c.min_length}, {c.max_length}]"
            )
        lengths = super().episode_lengths(batch_size, generator, length)
        evened = lengths - lengths % 2
        return torch.where(evened < max(c.min_length, 2), evened + 2, evened)

    def source_positions(self, steps: Tensor, lengths: Tensor) -> Tensor:
        return steps + 1 - 2 * (steps % 2)
