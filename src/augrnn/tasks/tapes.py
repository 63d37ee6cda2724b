"""Tasks on an input tape that a model reads with a moving head, writing its answer on an
output tape (the reinforcement-learning NTM's, Zaremba & Sutskever 2015, §6).

An episode of complexity C (the ``length`` of :meth:`TapeTask.sample`, ``augrnn eval
--lengths``) has an input tape of symbols 1..V (``task.symbols``, the paper's 30) ended by the
empty symbol ∅ (0), and a target: a sequence of symbols, also ended by ∅.

task              input tape                       target
tape_copy         x₁ … x_C ∅                       x₁ … x_C ∅
duplicated_input  x₁ x₁ x₁ x₂ x₂ x₂ … x_C x_C x_C ∅  x₁ … x_C ∅
tape_reverse      x₁ … x_C ∅                       x_C … x₁ ∅
forward_reverse   x₁ … x_C ∅                       x_C … x₁ ∅, the input head moving only forward
repeat_copy       m x₁ … x_C ∅                     (x₁ … x_C) repeated m times, then ∅

(m ∈ {2, 3} is written as the symbol V + m − 1 beyond the data's.) An episode runs a fixed
budget of (tape length + target length) · ``task.step_factor`` steps, its own whatever else
shares its batch, the model emitting a target symbol when it chooses to and forced to when the
targets left equal the steps left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor

from augrnn.settings import Range, at_least
from augrnn.tasks.base import Task, TaskConfig, episode_sizes

LN2 = 0.6931471805599453
#: The empty symbol ∅ that ends the input tape and the target.
EMPTY = 0


def symbol_labels(symbols: Tensor) -> list[str]:
    """Tape symbols (a 1-D tensor) as text: ∅ for the empty symbol, else the number."""
    return ["∅" if int(s) == EMPTY else str(int(s)) for s in symbols]


class TapeBatch(NamedTuple):
    """Episodes on an input tape.

    tape:         (L, B) long symbols, ∅ (0) after each episode's end.
    tape_lengths: (B,) long, the cells of each episode's tape (its ∅ included).
    targets:      (K, B) long target symbols, ∅ after the end.
    mask:         (K, B) float, 1 on each episode's targets (its final ∅ included).
    lengths:      (B,) long, each episode's complexity C.
    budgets:      (B,) long, each episode's step budget.
    steps:        the largest budget, the steps a batch runs.
    forward_only: whether the input head may only stay or move forward.
    """

    tape: Tensor
    tape_lengths: Tensor
    targets: Tensor
    mask: Tensor
    lengths: Tensor
    budgets: Tensor
    steps: int
    forward_only: bool = False

    def steps_mask(self) -> Tensor:
        return self.mask

    def to(self, device: torch.device | str) -> TapeBatch:
        return self._replace(
            tape=self.tape.to(device),
            tape_lengths=self.tape_lengths.to(device),
            targets=self.targets.to(device),
            mask=self.mask.to(device),
            lengths=self.lengths.to(device),
            budgets=self.budgets.to(device),
        )


@dataclass
class TapeTaskConfig(TaskConfig):
    """min_length, max_length: C in training; symbols: V, the data's alphabet (the paper's 30);
    step_factor: the budget per tape cell and target symbol."""

    min_length: int = 1
    max_length: int = 10
    symbols: int = 30
    step_factor: float = 1.0

    RANGES: ClassVar[dict[str, Range]] = {
        "min_length": at_least(1),
        "max_length": at_least(1),
        "symbols": at_least(2),
        "step_factor": at_least(1),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.min_length > self.max_length:
            raise ValueError(
                f"task.min_length must be <= task.max_length, got {self.min_length} > "
                f"{self.max_length}"
            )


class TapeTask(Task):
    """A task on an input tape; subclasses give :meth:`episode`."""

    config_class = TapeTaskConfig
    config: TapeTaskConfig
    headline_metric: ClassVar[str] = "sequence_error_rate"
    io_kind = "tape"
    forward_only: ClassVar[bool] = False
    extra_symbols: ClassVar[int] = 0

    @property
    def alphabet(self) -> int:
        """Symbols on the tapes: ∅, the data's V and any of the task's own."""
        return 1 + self.config.symbols + self.extra_symbols

    @property
    def input_size(self) -> int:
        return self.alphabet

    @property
    def output_size(self) -> int:
        return self.alphabet

    @property
    def train_lengths(self) -> tuple[int, int]:
        return (self.config.min_length, self.config.max_length)

    def episode(self, data: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """The tape and the target for the data symbols ``data`` (C,), both without ∅."""
        raise NotImplementedError

    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> TapeBatch:
        c = self.config
        sizes = episode_sizes(self.name, batch_size, c.min_length, c.max_length, generator, length)
        episodes = [
            self.episode(torch.randint(1, c.symbols + 1, (n,), generator=generator), generator)
            for n in sizes.tolist()
        ]
        tape_lengths = torch.tensor([len(tape) + 1 for tape, _ in episodes])
        target_lengths = torch.tensor([len(target) + 1 for _, target in episodes])
        tape = torch.full((int(tape_lengths.max()), batch_size), EMPTY, dtype=torch.long)
        targets = torch.full((int(target_lengths.max()), batch_size), EMPTY, dtype=torch.long)
        mask = torch.zeros(targets.shape)
        for b, (cells, target) in enumerate(episodes):
            tape[: len(cells), b] = cells
            targets[: len(target), b] = target
            mask[: len(target) + 1, b] = 1.0
        budgets = ((tape_lengths + target_lengths) * c.step_factor).long()
        return TapeBatch(
            tape, tape_lengths, targets, mask, sizes, budgets, int(budgets.max()), self.forward_only
        )

    def loss(self, outputs: Tensor, batch: TapeBatch) -> Tensor:
        """−Σ log p(y_k) over each episode's targets, averaged over the batch: ``outputs``
        (K, B, alphabet) logits of the symbols emitted for the targets."""
        log_p = outputs.log_softmax(-1).gather(2, batch.targets[:, :, None]).squeeze(2)
        return -(log_p * batch.mask).sum(0).mean()

    @torch.no_grad()
    def metrics(self, outputs: Tensor, batch: TapeBatch) -> dict[str, float]:
        """``symbol_error_rate``: wrong target symbols / target symbols; ``sequence_error_rate``:
        the episodes with a wrong symbol; ``cost_bits`` per episode."""
        if outputs.shape[:2] != batch.targets.shape:
            raise ValueError(
                f"outputs must be (K, B, alphabet) with (K, B) = {tuple(batch.targets.shape)}, "
                f"got {tuple(outputs.shape)}"
            )
        wrong = (outputs.argmax(-1) != batch.targets).float() * batch.mask
        return {
            "symbol_error_rate": (wrong.sum() / batch.mask.sum().clamp_min(1)).item(),
            "sequence_error_rate": (wrong.sum(0) > 0).float().mean().item(),
            "cost_bits": (self.loss(outputs, batch) / LN2).item(),
        }

    def _text(self, symbols: Tensor) -> str:
        return " ".join(symbol_labels(symbols))

    def render(self, batch: TapeBatch, index: int = 0, outputs: Tensor | None = None) -> str:
        cells = int(batch.tape_lengths[index])
        targets = int(batch.mask[:, index].sum())
        lines = [
            f"C = {int(batch.lengths[index])}, {int(batch.budgets[index])} steps"
            + (", input head forward only" if batch.forward_only else ""),
            f"input:  {self._text(batch.tape[:cells, index])}",
            f"target: {self._text(batch.targets[:targets, index])}",
        ]
        if outputs is not None:
            lines.append(f"output: {self._text(outputs[:targets, index].argmax(-1))}")
        return "\n".join(lines)

    def example(self, batch: Any, index: int) -> tuple[Any, int]:
        cells, targets = int(batch.tape_lengths[index]), int(batch.mask[:, index].sum())
        return (
            batch._replace(
                tape=batch.tape[:cells, index : index + 1],
                tape_lengths=batch.tape_lengths[index : index + 1],
                targets=batch.targets[:targets, index : index + 1],
                mask=batch.mask[:targets, index : index + 1],
                lengths=batch.lengths[index : index + 1],
                budgets=batch.budgets[index : index + 1],
                steps=int(batch.budgets[index]),
            ),
            0,
        )

    def sizes_text(self) -> str:
        return f"{self.config.symbols} symbols and ∅ (alphabet {self.alphabet})"


class TapeCopyTask(TapeTask):
    name = "tape_copy"
    description = "copy the input tape to the output tape (RL-NTM §6)"

    def episode(self, data, generator):
        return data, data


class DuplicatedInputTask(TapeTask):
    name = "duplicated_input"
    description = "each symbol of the input tape appears three times; write it once (RL-NTM §6)"

    def episode(self, data, generator):
        return data.repeat_interleave(3), data


class TapeReverseTask(TapeTask):
    name = "tape_reverse"
    description = "write the input tape reversed (RL-NTM §6)"

    def episode(self, data, generator):
        return data, data.flip(0)


class ForwardReverseTask(TapeReverseTask):
    name = "forward_reverse"
    description = "write the input reversed, the input head moving only forward (RL-NTM §6)"
    forward_only = True


class RepeatCopyTask(TapeTask):
    name = "repeat_copy_tape"
    description = "copy the input m times, m in {2, 3} given first (RL-NTM §6)"
    extra_symbols = 2

    def episode(self, data, generator):
        repeats = int(torch.randint(2, 4, (1,), generator=generator))
        marker = torch.tensor([self.config.symbols + repeats - 1])
        return torch.cat([marker, data]), data.repeat(repeats)


TAPE_TASKS = (
    TapeCopyTask,
    DuplicatedInputTask,
    TapeReverseTask,
    ForwardReverseTask,
    RepeatCopyTask,
)
