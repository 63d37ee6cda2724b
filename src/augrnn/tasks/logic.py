"""Logic (ACT paper §3.2): chains of binary logic gates whose result carries to the next step.

Each episode is L input vectors (L ~ U{min_length..max_length}, the paper's 1 to 10) with one
target bit each. Vector t holds two bits and ``max_gates`` chunks of 10 (the paper's 10 chunks):

- element 0: b_0, element 1: b_1;
- chunk i (elements ``2 + 10 i .. 11 + 10 i``): for the first B chunks (B ~ U{min_gates..max_gates},
  drawn per vector, the paper's 1 to 10), a one-hot choice of one of the 10 gates T_i of
  :data:`GATES` (the paper's Table 1); the other chunks are zero, meaning no further gates.

The target is b_{B+1}, from the recursion b_{i+1} = T_i(b_i, b_{i-1}) for i = 1 .. B (Equation 21),
each gate reading P = b_i and Q = b_{i-1}. On the first vector b_0 and b_1 are random and both
shown. On later vectors only b_1 is random; b_0 is the previous vector's target, which the input
never shows (element 0 is 0), so the network has to carry it across time steps.

Shapes: inputs (T, B, 2 + 10 max_gates), targets (T, B, 1), mask and input_mask (T, B), both 1
on the episode's L steps, with T the longest L in the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import torch
import torch.nn.functional as F

from augrnn.settings import Range, at_least
from augrnn.tasks.base import Batch, Task, TaskConfig, episode_sizes, random_bits


class Gate(NamedTuple):
    """A binary logic gate: its name in the paper's Table 1 and its output for the inputs
    (P, Q) = (1, 1), (1, 0), (0, 1), (0, 0), the table's row order."""

    name: str
    truth: tuple[int, int, int, int]


#: The paper's Table 1, in its column order; gate number n (1 to 10) is one-hot position n - 1.
GATES: tuple[Gate, ...] = (
    Gate("NOR", (0, 0, 0, 1)),
    Gate("Xq", (0, 0, 1, 0)),  # not P and Q
    Gate("ABJ", (0, 1, 0, 0)),  # P and not Q
    Gate("XOR", (0, 1, 1, 0)),
    Gate("NAND", (0, 1, 1, 1)),
    Gate("AND", (1, 0, 0, 0)),
    Gate("XNOR", (1, 0, 0, 1)),
    Gate("if/then", (1, 0, 1, 1)),  # P implies Q
    Gate("then/if", (1, 1, 0, 1)),  # Q implies P
    Gate("OR", (1, 1, 1, 0)),
)


def truth_tensor() -> torch.Tensor:
    """:data:`GATES` as a (10, 2, 2) long tensor indexed [gate, P, Q]."""
    table = torch.tensor([gate.truth for gate in GATES])
    # Rows run P, Q = 11, 10, 01, 00: flip both axes to index by the bits' values.
    return table.view(len(GATES), 2, 2).flip(1, 2)


@dataclass
class LogicConfig(TaskConfig):
    min_length: int = 1
    max_length: int = 10
    min_gates: int = 1
    #: Also the number of gate chunks in each input vector.
    max_gates: int = 10

    RANGES: ClassVar[dict[str, Range]] = {
        "min_length": at_least(1),
        "max_length": at_least(1),
        "min_gates": at_least(1),
        "max_gates": at_least(1),
    }


class LogicTask(Task):
    name = "logic"
    description = "chains of 1-10 logic gates per step, the result carried to the next (ACT §3.2)"
    config_class = LogicConfig
    config: LogicConfig
    headline_metric = "sequence_error_rate"

    def __init__(self, config: LogicConfig | None = None):
        super().__init__(config)
        c = self.config
        if not 1 <= c.min_length <= c.max_length:
            raise ValueError(f"logic needs 1 <= min_length <= max_length, got {c}")
        if not 1 <= c.min_gates <= c.max_gates:
            raise ValueError(f"logic needs 1 <= min_gates <= max_gates, got {c}")
        self.truth = truth_tensor()

    @property
    def input_size(self) -> int:
        return 2 + len(GATES) * self.config.max_gates

    @property
    def output_size(self) -> int:
        return 1

    @property
    def train_lengths(self) -> tuple[int, int]:
        return (self.config.min_length, self.config.max_length)

    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        """Draw episodes; ``length`` fixes the number of input vectors L."""
        c = self.config
        lengths = episode_sizes(
            self.name, batch_size, c.min_length, c.max_length, generator, length
        )
        steps = int(lengths.max())
        gate_counts = torch.randint(
            c.min_gates, c.max_gates + 1, (steps, batch_size), generator=generator
        )
        gates = torch.randint(0, len(GATES), (steps, batch_size, c.max_gates), generator=generator)
        used = torch.arange(c.max_gates) < gate_counts.unsqueeze(-1)  # (T, B, max_gates)
        first_b0 = random_bits((batch_size,), generator).long()
        b1 = random_bits((steps, batch_size), generator).long()

        targets = torch.zeros(steps, batch_size, 1)
        b0 = first_b0
        for t in range(steps):
            previous, current = b0, b1[t]
            for i in range(c.max_gates):
                result = self.truth[gates[t, :, i], current, previous]
                # Past the B-th gate the chain has ended: keep b_{B+1}.
                previous, current = (
                    torch.where(used[t, :, i], current, previous),
                    torch.where(used[t, :, i], result, current),
                )
            targets[t, :, 0] = current.float()
            b0 = current

        episode = (torch.arange(steps).unsqueeze(1) < lengths).float()  # (T, B)
        inputs = torch.zeros(steps, batch_size, self.input_size)
        inputs[0, :, 0] = first_b0.float()
        inputs[:, :, 1] = b1.float()
        one_hot = F.one_hot(gates, len(GATES)) * used.unsqueeze(-1)
        inputs[:, :, 2:] = one_hot.flatten(2).float()
        inputs = inputs * episode.unsqueeze(-1)
        targets = targets * episode.unsqueeze(-1)
        return Batch(inputs, targets, episode, lengths, episode.clone())

    @torch.no_grad()
    def metrics(self, logits: torch.Tensor, batch: Batch) -> dict[str, float]:
        """The bit metrics plus ``sequence_error_rate``, the paper's measure (ACT §3)."""
        metrics = super().metrics(logits, batch)
        metrics["sequence_error_rate"] = 1.0 - metrics["sequence_accuracy"]
        return metrics

    def render(self, batch: Batch, index: int = 0, logits: torch.Tensor | None = None) -> str:
        length = int(batch.lengths[index])
        header = "step  b0 b1  target" + ("  output" if logits is not None else "") + "  gates"
        lines = [f"logic, {length} vectors", header]
        for t in range(length):
            vector = batch.inputs[t, index]
            chunks = vector[2:].view(self.config.max_gates, len(GATES))
            names = [GATES[int(chunk.argmax())].name for chunk in chunks if chunk.sum() > 0]
            output = ""
            if logits is not None:
                output = f"  {torch.sigmoid(logits[t, index, 0]).item():6.2f}"
            lines.append(
                f"{t:4d}  {int(vector[0]):2d} {int(vector[1]):2d}"
                f"  {int(batch.targets[t, index, 0]):6d}{output}  {' '.join(names)}"
            )
        return "\n".join(lines)
