"""Tasks on a random-access memory of integers (the Neural Random-Access Machine's, Kurach,
Andrychowicz & Sutskever 2015, §4): the memory starts with the input, and the model must leave
the output in given cells.

An episode of complexity n (the ``length`` of :meth:`PointerTask.sample`, ``augrnn eval
--lengths``) has a memory of M cells, each holding an integer in 0..M−1, so that a value can
point to any cell; 0 is also the NULL that ends an array. The cells past the input hold 0.

task          memory at the start                    the cells scored, and their targets
access        k, A[0..n−1], NULL                     cell 0 := A[k]
increment     A[0..n−1], NULL                        A[i] := A[i] + 1 mod M
copy          p, A[0..n−1], NULL, (n cells)          cells p..p+n−1 := A (p = n + 2)
reverse       p, A[0..n−1], NULL, (n cells)          cell p − i := A[i] (p = 2n + 1)
swap          p, q, A[0..n−1], NULL                  A's cells p and q exchange their values
permutation   a, P[0..n−1], A[0..n−1], NULL          cell 1 + i := A[P[i]] (a = n + 1 points
                                                     to A; P a permutation of 0..n−1)
listk         head, k, out, n nodes (next, value)    cell 2 := the value of the list's k-th
                                                     node (k = 0 is the head)
listsearch    head, v, out, n nodes (next, value)    cell 2 := the address of the first node
                                                     whose value is v
merge         a, b, o, A, G, B, G, (n cells)         cells o..o+n−1 := A and B merged in
                                                     order (len A + len B = n; G = M − 1)
walkbst       root, out, d_1..d_k, NULL, (n − k      cell 1 := the value of the node that the
              cells), n nodes (value, left, right)   path d_1..d_k reaches from the root

with A[i] drawn from 1..M−1 and k, p, q uniform over their ranges (p ≠ q). M is the smallest
memory that holds the layout, at least ``min_memory``; an episode runs T timesteps, enough for
a circuit that does one WRITE per step: 2 for access, n + 1 for increment, n + 2 for copy and
reverse (one to spare: a copy that runs on wraps around to cells that are not scored), 4 for
swap. Reverse's pointer names where A[0] goes, so that the copy walks down from it. The error
is the paper's: the fraction of scored cells whose most probable value is wrong.

The last five are the paper's harder tasks (its appendix's descriptions; the layouts' details
are augrnn's). A list's nodes are two adjacent cells (the next node's address, 0 ending the
list, then the value) at random places among the n node slots; a search tree's nodes are three
(the value, then the left and right child's addresses, 0 for none), also placed at random. The
tree holds n distinct values inserted in a random order, and the path leads from the root to a
node drawn uniformly, so its length k is that node's depth. A step of the path is 1 (left) or
2 (right), the offset of the child's address within a node, where the paper writes d_i ∈ {0, 1}
and ends the path with NULL: here NULL = 0 stays apart from the steps. Merge's arrays are
sorted, of lengths drawn uniformly (an array may be empty), each closed by the guardian
G = M − 1, larger than every element (drawn from 1..M−2); a = 3, b = 4 + len A and o = n + 5.
ListSearch's v is the value of a node drawn uniformly (values may repeat: the answer is the
first node holding v), and the cells past the layout hold random values ("trash", as in the
paper, so that scanning the whole memory does not find the answer). These tasks need one READ
per step for each pointer they follow, so T is 2n + 1 for permutation, listsearch and walkbst
(two reads per element or step of the path), n + 1 for listk and 2n + 4 for merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor

from augrnn.settings import Range, at_least
from augrnn.tasks.base import Task, TaskConfig, episode_sizes

LN2 = 0.6931471805599453


class MemoryBatch(NamedTuple):
    """Episodes on a memory of M cells.

    memory:  (M, B) long, the initial contents (cells first, as time is first in a
             :class:`~augrnn.tasks.base.Batch`).
    targets: (M, B) long, what each cell should hold at the end (its initial value where not
             scored).
    mask:    (M, B) float, 1 on the cells scored.
    lengths: (B,) long, each episode's complexity n.
    steps:   T, the timesteps the model runs.
    """

    memory: Tensor
    targets: Tensor
    mask: Tensor
    lengths: Tensor
    steps: int

    def steps_mask(self) -> Tensor:
        return self.mask

    def to(self, device: torch.device | str) -> MemoryBatch:
        return MemoryBatch(
            self.memory.to(device),
            self.targets.to(device),
            self.mask.to(device),
            self.lengths.to(device),
            self.steps,
        )


@dataclass
class PointerTaskConfig(TaskConfig):
    """min_size, max_size: the complexity n drawn in training. min_memory: the fewest cells
    (and integers) of a memory. extra_steps: timesteps beyond the task's own number. slack:
    each batch's memory gets 0..slack cells (and integers) more than its largest layout
    needs, drawn uniformly per batch: with none, a batch of one size has a memory that just
    fits, where reverse's pointer always names the last cell (M − 1) and a circuit can write
    there without reading it."""

    min_size: int = 2
    max_size: int = 8
    min_memory: int = 4
    extra_steps: int = 0
    slack: int = 0

    RANGES: ClassVar[dict[str, Range]] = {
        "min_size": at_least(1),
        "max_size": at_least(1),
        "min_memory": at_least(2),
        "extra_steps": at_least(0),
        "slack": at_least(0),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.min_size > self.max_size:
            raise ValueError(
                f"task.min_size must be <= task.max_size, got {self.min_size} > {self.max_size}"
            )


class PointerTask(Task):
    """A task on a memory of integers; subclasses give the layout (:meth:`fill`), the memory
    size and the timesteps for complexity n."""

    config_class = PointerTaskConfig
    config: PointerTaskConfig
    length_name = "n"
    headline_metric: ClassVar[str] = "error_rate"
    io_kind = "memory"
    min_complexity: ClassVar[int] = 1

    def __init__(self, config: PointerTaskConfig | None = None):
        super().__init__(config)
        if self.config.min_size < self.min_complexity:
            raise ValueError(
                f"{self.name} needs task.min_size >= {self.min_complexity}, got "
                f"{self.config.min_size}"
            )

    @property
    def input_size(self) -> int:
        return 1

    @property
    def output_size(self) -> int:
        return 1

    @property
    def train_lengths(self) -> tuple[int, int]:
        return (self.config.min_size, self.config.max_size)

    def cells(self, n: int) -> int:
        """The cells the layout of complexity n takes."""
        raise NotImplementedError

    def timesteps(self, n: int) -> int:
        """The task's own number of timesteps at complexity n."""
        raise NotImplementedError

    def fill(self, memory: Tensor, targets: Tensor, mask: Tensor, n: int, rng) -> None:
        """Write one episode of complexity n into the (M,) zeros ``memory`` (the start),
        ``targets`` (the end: the start with the scored cells changed) and ``mask``."""
        raise NotImplementedError

    def memory_size(self, n: int) -> int:
        return max(self.cells(n), self.config.min_memory)

    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> MemoryBatch:
        c = self.config
        sizes = episode_sizes(
            self.name,
            batch_size,
            c.min_size,
            c.max_size,
            generator,
            length,
            name="n",
            minimum=self.min_complexity,
        )
        largest = int(sizes.max())
        m = self.memory_size(largest)
        if c.slack:
            m += int(torch.randint(0, c.slack + 1, (1,), generator=generator))
        memory = torch.zeros(m, batch_size, dtype=torch.long)
        targets = torch.zeros(m, batch_size, dtype=torch.long)
        mask = torch.zeros(m, batch_size)
        for b, n in enumerate(sizes.tolist()):
            self.fill(memory[:, b], targets[:, b], mask[:, b], n, _Draw(generator, m))
        return MemoryBatch(memory, targets, mask, sizes, self.timesteps(largest) + c.extra_steps)

    def loss(self, outputs: Tensor, batch: MemoryBatch) -> Tensor:
        """−Σ log P(cell i = y_i) over the scored cells, averaged over the batch: ``outputs``
        (M, B, M) log-probabilities of each cell's value."""
        right = outputs.gather(2, batch.targets[:, :, None]).squeeze(2)
        return -(right * batch.mask).sum(0).mean()

    @torch.no_grad()
    def metrics(self, outputs: Tensor, batch: MemoryBatch) -> dict[str, float]:
        """``error_rate``: wrong cells / scored cells (the paper's error); ``episode_error_rate``:
        the episodes with a wrong cell; ``cost_bits``: −Σ log₂ P(right value) per episode."""
        if outputs.shape != (*batch.memory.shape, batch.memory.shape[0]):
            raise ValueError(
                f"outputs must be (M, B, M) = {(*batch.memory.shape, batch.memory.shape[0])}, "
                f"got {tuple(outputs.shape)}"
            )
        wrong = (outputs.argmax(2) != batch.targets).float() * batch.mask
        return {
            "error_rate": (wrong.sum() / batch.mask.sum().clamp_min(1)).item(),
            "episode_error_rate": (wrong.sum(0) > 0).float().mean().item(),
            "cost_bits": (self.loss(outputs, batch) / LN2).item(),
        }

    def render(self, batch: MemoryBatch, index: int = 0, outputs: Tensor | None = None) -> str:
        n = int(batch.lengths[index])
        scored = batch.mask[:, index] > 0
        cells = int(self.cells(n))

        def row(values: Tensor) -> str:
            return " ".join(f"{int(v):>3}" for v in values[:cells])

        lines = [
            f"n = {n}, memory of {batch.memory.shape[0]} cells, {batch.steps} timesteps",
            f"cell:    {' '.join(f'{i:>3}' for i in range(cells))}",
            f"memory:  {row(batch.memory[:, index])}",
            "target:  "
            + " ".join(
                f"{int(v):>3}" if s else "  ."
                for v, s in zip(batch.targets[:cells, index], scored[:cells], strict=True)
            ),
        ]
        if outputs is not None:
            lines.append(f"output:  {row(outputs[:, index].argmax(-1))}")
        return "\n".join(lines)

    def example(self, batch: Any, index: int) -> tuple[Any, int]:
        return (
            MemoryBatch(
                batch.memory[:, index : index + 1],
                batch.targets[:, index : index + 1],
                batch.mask[:, index : index + 1],
                batch.lengths[index : index + 1],
                batch.steps,
            ),
            0,
        )

    def sizes_text(self) -> str:
        low, high = self.train_lengths
        return (
            f"memories of {self.memory_size(low)}-{self.memory_size(high)} cells (integers "
            f"0..M-1), {self.timesteps(low) + self.config.extra_steps}-"
            f"{self.timesteps(high) + self.config.extra_steps} timesteps"
        )


class _Draw:
    """Draws from ``generator`` for one episode on a memory of M cells."""

    def __init__(self, generator: torch.Generator, m: int):
        self.generator, self.m = generator, m

    def values(self, count: int, high: int | None = None) -> Tensor:
        """``count`` array values in 1..M−1 (never NULL), or in 1..high−1."""
        return torch.randint(1, high or self.m, (count,), generator=self.generator)

    def permutation(self, count: int) -> Tensor:
        return torch.randperm(count, generator=self.generator)

    def below(self, high: int) -> int:
        return int(torch.randint(0, high, (1,), generator=self.generator))


class AccessTask(PointerTask):
    name = "access"
    description = "return A[k]: k, then the array, in memory; write A[k] to cell 0 (NRAM §4)"

    def cells(self, n: int) -> int:
        return n + 2

    def timesteps(self, n: int) -> int:
        return 2

    def fill(self, memory, targets, mask, n, rng) -> None:
        array = rng.values(n)
        k = rng.below(n)
        memory[0], memory[1 : n + 1] = k, array
        targets.copy_(memory)
        targets[0], mask[0] = array[k], 1.0


class IncrementTask(PointerTask):
    name = "increment"
    description = "add 1 to every element of the array, in place (NRAM §4)"

    def cells(self, n: int) -> int:
        return n + 1

    def timesteps(self, n: int) -> int:
        return n + 1

    def fill(self, memory, targets, mask, n, rng) -> None:
        array = rng.values(n)
        memory[:n] = array
        targets.copy_(memory)
        targets[:n] = (array + 1) % rng.m
        mask[:n] = 1.0


class CopyTask(PointerTask):
    name = "nram_copy"
    description = "copy the array to where the pointer in cell 0 points (NRAM §4)"

    def cells(self, n: int) -> int:
        return 2 * n + 2

    def timesteps(self, n: int) -> int:
        return n + 2

    def pointer(self, n: int) -> int:
        """Where cell 0 points: the destination of A[0]."""
        return n + 2

    def destination(self, array: Tensor) -> Tensor:
        """The destination cells' contents, in address order."""
        return array

    def fill(self, memory, targets, mask, n, rng) -> None:
        array = rng.values(n)
        memory[0], memory[1 : n + 1] = self.pointer(n), array
        targets.copy_(memory)
        targets[n + 2 : 2 * n + 2] = self.destination(array)
        mask[n + 2 : 2 * n + 2] = 1.0


class ReverseTask(CopyTask):
    name = "nram_reverse"
    description = "write the array backwards from where the pointer in cell 0 points (NRAM §4)"

    def pointer(self, n: int) -> int:
        return 2 * n + 1

    def destination(self, array: Tensor) -> Tensor:
        return array.flip(0)


class SwapTask(PointerTask):
    name = "swap"
    description = "exchange the array cells that the pointers in cells 0 and 1 name (NRAM §4)"
    min_complexity = 2

    def cells(self, n: int) -> int:
        return n + 3

    def timesteps(self, n: int) -> int:
        return 4

    def fill(self, memory, targets, mask, n, rng) -> None:
        array = rng.values(n)
        first = rng.below(n)
        second = (first + 1 + rng.below(n - 1)) % n
        p, q = 2 + first, 2 + second
        memory[0], memory[1], memory[2 : n + 2] = p, q, array
        targets.copy_(memory)
        targets[p], targets[q] = memory[q], memory[p]
        mask[p] = mask[q] = 1.0


class PermutationTask(PointerTask):
    name = "permutation"
    description = "write A[P[i]] over P[i]: a pointer to A, the permutation P, then A (NRAM §4)"

    def cells(self, n: int) -> int:
        return 2 * n + 2

    def timesteps(self, n: int) -> int:
        return 2 * n + 1

    def fill(self, memory, targets, mask, n, rng) -> None:
        order, array = rng.permutation(n), rng.values(n)
        memory[0], memory[1 : n + 1], memory[n + 1 : 2 * n + 1] = n + 1, order, array
        targets.copy_(memory)
        targets[1 : n + 1] = array[order]
        mask[1 : n + 1] = 1.0


def _link_list(memory: Tensor, values: Tensor, first_slot: int, rng: _Draw) -> Tensor:
    """Lays the nodes (next, value) of a list holding ``values`` at random node slots from cell
    ``first_slot``; returns each list position's address."""
    addresses = first_slot + 2 * rng.permutation(len(values))
    for j, address in enumerate(addresses.tolist()):
        memory[address] = addresses[j + 1] if j + 1 < len(values) else 0
        memory[address + 1] = values[j]
    return addresses


class ListKTask(PointerTask):
    name = "listk"
    description = "the value of a linked list's k-th node: head, k, out, then the nodes (NRAM §4)"

    def cells(self, n: int) -> int:
        return 2 * n + 3

    def timesteps(self, n: int) -> int:
        return n + 1

    def fill(self, memory, targets, mask, n, rng) -> None:
        values = rng.values(n)
        addresses = _link_list(memory, values, 3, rng)
        k = rng.below(n)
        memory[0], memory[1] = addresses[0], k
        targets.copy_(memory)
        targets[2], mask[2] = values[k], 1.0


class ListSearchTask(PointerTask):
    name = "listsearch"
    description = (
        "the address of a linked list's first node holding v: head, v, out, the nodes (NRAM §4)"
    )

    def cells(self, n: int) -> int:
        return 2 * n + 3

    def timesteps(self, n: int) -> int:
        return 2 * n + 1

    def fill(self, memory, targets, mask, n, rng) -> None:
        values = rng.values(n)
        addresses = _link_list(memory, values, 3, rng)
        v = values[rng.below(n)]
        first = int((values == v).nonzero()[0])
        memory[0], memory[1] = addresses[0], v
        memory[self.cells(n) :] = rng.values(rng.m - self.cells(n))
        targets.copy_(memory)
        targets[2], mask[2] = addresses[first], 1.0


class MergeTask(PointerTask):
    name = "merge"
    description = "merge two sorted arrays, each closed by a guardian, to where o points (NRAM §4)"

    def cells(self, n: int) -> int:
        return 2 * n + 5

    def timesteps(self, n: int) -> int:
        return 2 * n + 4

    def fill(self, memory, targets, mask, n, rng) -> None:
        guardian = rng.m - 1
        first_length = rng.below(n + 1)
        first = rng.values(first_length, high=guardian).sort().values
        second = rng.values(n - first_length, high=guardian).sort().values
        b, o = 4 + first_length, n + 5
        memory[:3] = torch.tensor([3, b, o])
        memory[3:b] = torch.cat([first, torch.tensor([guardian])])
        memory[b:o] = torch.cat([second, torch.tensor([guardian])])
        targets.copy_(memory)
        targets[o : o + n] = torch.cat([first, second]).sort().values
        mask[o : o + n] = 1.0


class WalkBSTTask(PointerTask):
    name = "walkbst"
    description = (
        "the value at the end of a path (1 left, 2 right) from a search tree's root (NRAM §4)"
    )

    def cells(self, n: int) -> int:
        return 4 * n + 2

    def timesteps(self, n: int) -> int:
        return 2 * n + 1

    def fill(self, memory, targets, mask, n, rng) -> None:
        values = (rng.permutation(rng.m - 1)[:n] + 1).tolist()  # distinct, in insertion order
        addresses = (n + 2 + 3 * rng.permutation(n)).tolist()
        paths: list[list[int]] = [[]]
        for node in range(1, n):  # insert node under the tree of the ones before it
            parent, path = 0, []
            while True:
                step = 1 if values[node] < values[parent] else 2
                path.append(step)
                child = memory[addresses[parent] + step]
                if child == 0:
                    memory[addresses[parent] + step] = addresses[node]
                    break
                parent = addresses.index(int(child))
            paths.append(path)
        for node in range(n):
            memory[addresses[node]] = values[node]
        target = rng.below(n)
        path = paths[target]
        memory[0] = addresses[0]
        memory[2 : 2 + len(path)] = torch.tensor(path, dtype=torch.long)
        targets.copy_(memory)
        targets[1], mask[1] = values[target], 1.0


POINTER_TASKS = (
    AccessTask,
    IncrementTask,
    CopyTask,
    ReverseTask,
    SwapTask,
    PermutationTask,
    ListKTask,
    ListSearchTask,
    MergeTask,
    WalkBSTTask,
)
