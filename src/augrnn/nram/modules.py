"""The Neural Random-Access Machine's modules (Kurach, Andrychowicz & Sutskever 2015, §3) as
pure functions on distributions over the integers 0..M−1.

A register, a module's argument and its result are (B, M) rows of probabilities: P(x = j) at
column j. A module m defined on integers acts on independent distributions A and B as

    P(m(A, B) = c) = Σ_{a, b} P(A = a) P(B = b) [m(a, b) = c]                       (§3, eq. 1)

computed here as the outer product of A and B scattered into c = m(a, b) (O(B M²)), or, for the
modules of one argument, as a permutation of A. The memory tape ℳ is (B, M, M): ℳ[b, i, j] =
P(cell i holds j), so that a value doubles as a pointer to a cell.

:data:`MODULES` lists the paper's 14 modules in its order; each takes (a, b, memory) and returns
(result, memory), memory unchanged except by WRITE.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor


def check_distribution(name: str, x: Tensor) -> None:
    """Raise ValueError unless ``x`` is a (B, M) batch of rows with M ≥ 1."""
    if x.dim() != 2 or x.shape[1] < 1:
        raise ValueError(f"{name} must be a (B, M) batch of distributions, got {tuple(x.shape)}")


def table(operation: Callable[[Tensor, Tensor], Tensor], m: int, device=None) -> Tensor:
    """The (M, M) long table of c = operation(a, b) over a, b in 0..M−1 (values taken mod M)."""
    values = torch.arange(m, device=device)
    return operation(values[:, None], values[None, :]).remainder(m)


def apply_binary(a: Tensor, b: Tensor, results: Tensor) -> Tensor:
    """P(m(A, B) = c) for independent A, B: (B, M) each, and ``results`` (M, M), m's table
    (:func:`table`); returns (B, M)."""
    check_distribution("a", a)
    if a.shape != b.shape or results.shape != (a.shape[1], a.shape[1]):
        raise ValueError(
            f"a and b must have one shape (B, M) and the table (M, M), got {tuple(a.shape)}, "
            f"{tuple(b.shape)} and {tuple(results.shape)}"
        )
    joint = (a[:, :, None] * b[:, None, :]).flatten(1)
    index = results.flatten().expand(a.shape[0], -1)
    return torch.zeros_like(a).scatter_add(1, index, joint)


def constant(value: int, like: Tensor) -> Tensor:
    """The distribution certain of ``value`` (mod M), shaped as ``like``: (B, M)."""
    out = torch.zeros_like(like)
    out[:, value % like.shape[1]] = 1.0
    return out


def increment(a: Tensor) -> Tensor:
    """INC: P(a + 1 mod M = c) = P(a = c − 1). (B, M) -> (B, M)."""
    return torch.roll(a, 1, dims=1)


def decrement(a: Tensor) -> Tensor:
    """DEC: P(a − 1 mod M = c) = P(a = c + 1). (B, M) -> (B, M)."""
    return torch.roll(a, -1, dims=1)


def read(pointer: Tensor, memory: Tensor) -> Tensor:
    """READ(p) = ℳᵀ p: the value at a cell drawn from ``pointer``. (B, M), (B, M, M) -> (B, M)."""
    return torch.einsum("bi,bij->bj", pointer, memory)


def write(pointer: Tensor, value: Tensor, memory: Tensor) -> Tensor:
    """WRITE(p, a): ℳ := (J − p) Jᵀ ∘ ℳ + p aᵀ, cell i keeping its contents with probability
    1 − p_i and taking ``value`` with p_i. (B, M), (B, M), (B, M, M) -> the new (B, M, M)."""
    return (1 - pointer)[:, :, None] * memory + pointer[:, :, None] * value[:, None, :]


class Module(NamedTuple):
    """One of the circuit's gates: its name and (a, b, memory) -> (result, memory)."""

    name: str
    apply: Callable[[Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]


def _binary(operation: Callable[[Tensor, Tensor], Tensor]):
    tables: dict[tuple[int, torch.device], Tensor] = {}  # built once per M and device

    def apply(a: Tensor, b: Tensor, memory: Tensor) -> tuple[Tensor, Tensor]:
        key = (a.shape[1], a.device)
        if key not in tables:
            tables[key] = table(operation, *key)
        return apply_binary(a, b, tables[key]), memory

    return apply


def _write(a: Tensor, b: Tensor, memory: Tensor) -> tuple[Tensor, Tensor]:
    return b, write(a, b, memory)


#: The paper's modules in its order (§4: "the same order in all experiments").
MODULES: tuple[Module, ...] = (
    Module("READ", lambda a, b, memory: (read(a, memory), memory)),
    Module("ZERO", lambda a, b, memory: (constant(0, a), memory)),
    Module("ONE", lambda a, b, memory: (constant(1, a), memory)),
    Module("TWO", lambda a, b, memory: (constant(2, a), memory)),
    Module("INC", lambda a, b, memory: (increment(a), memory)),
    Module("ADD", _binary(lambda x, y: x + y)),
    Module("SUB", _binary(lambda x, y: x - y)),
    Module("DEC", lambda a, b, memory: (decrement(a), memory)),
    Module("LESS-THAN", _binary(lambda x, y: (x < y).long())),
    Module("LESS-OR-EQUAL", _binary(lambda x, y: (x <= y).long())),
    Module("EQUALITY", _binary(lambda x, y: (x == y).long())),
    Module("MIN", _binary(torch.minimum)),
    Module("MAX", _binary(torch.maximum)),
    Module("WRITE", _write),
)
#: The integer function of each module but READ and WRITE, for reference tests and planted
#: circuits: (a, b, M) -> m(a, b) in 0..M−1.
INTEGER_FUNCTIONS: dict[str, Callable[[int, int, int], int]] = {
    "ZERO": lambda a, b, m: 0,
    "ONE": lambda a, b, m: 1 % m,
    "TWO": lambda a, b, m: 2 % m,
    "INC": lambda a, b, m: (a + 1) % m,
    "ADD": lambda a, b, m: (a + b) % m,
    "SUB": lambda a, b, m: (a - b) % m,
    "DEC": lambda a, b, m: (a - 1) % m,
    "LESS-THAN": lambda a, b, m: int(a < b),
    "LESS-OR-EQUAL": lambda a, b, m: int(a <= b),
    "EQUALITY": lambda a, b, m: int(a == b),
    "MIN": lambda a, b, m: min(a, b),
    "MAX": lambda a, b, m: max(a, b),
}
MODULE_NAMES = tuple(module.name for module in MODULES)
