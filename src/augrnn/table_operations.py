"""The Neural Programmer's built-in operations and its soft step, as pure functions.

They are the language of programs over tables, which the model (:mod:`augrnn.programmer`) runs
softly and the table task (:mod:`augrnn.tasks.table_qa`) runs hard to compute its answers.

Neelakantan, Le & Sutskever (2015), arXiv 1511.04834, §2. The program's state after step t is
the scalar answer ``scalar_t`` (B,), the lookup answer ``lookup_t`` (B, R, C) and the row
selector ``row_select_t`` (B, R); at step 0 they are 0, 0 and 1. Every operation reads the
table (B, R, C) of R rows and C columns and the previous state; :func:`program_step` mixes their
results with the selector's operation weights α_op (B, O) and column weights α_col (B, C), so a
one-hot α reproduces the hard program exactly.

Tables may also hold K text columns (words). The column weights α_col (B, C + K) then cover the
C numeric columns and the K text columns, in that order: the numeric operations read the first
C weights and ``text_match`` the last K.

Deviations, all documented: greater/lesser are soft, σ(k (T − pivot ∓ ½)) with a large k, so
the pivot attention gets gradients (with ``hard=True`` they are the exact comparisons); ``max``
and ``min`` (rows holding a column's greatest / least entry among the selected rows) are added
for the lookup questions "the greatest / least value of a column"; ``text_match`` selects the
rows whose entry in the chosen text column is a word of the question, an exact match where the
paper attends over the question's words; outputs that the chosen operation does not produce are
0, as in the paper. :func:`program_step` takes ``and`` and the soft ``max`` / ``min`` as
functions, so that the variants that are not in the paper
(:mod:`augrnn.programmer.regularisers`: ``and`` as a product, the expected extremes) plug in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

#: The operations, in the order of the selector's scores (α_op's last dimension).
OPERATIONS = (
    "sum",
    "count",
    "difference",
    "greater",
    "lesser",
    "and",
    "or",
    "max",
    "min",
    "print",
    "reset",
    "text_match",
)
OP = {name: i for i, name in enumerate(OPERATIONS)}


class ProgramOutputs(NamedTuple):
    """A program's answers: ``scalar`` (B,) and ``lookup`` (B, R, C) probabilities in [0, 1].

    In evaluation the model adds the argmax program it ran, ``ops`` and ``columns`` (B, T)
    long, with its ``pivots`` (B, 2) for greater and lesser, and the soft (α-weighted)
    program's answers ``soft_scalar`` (B,) and ``soft_lookup`` (B, R, C), so that one pass
    scores both selections and the programs.
    """

    scalar: Tensor
    lookup: Tensor
    ops: Tensor | None = None
    columns: Tensor | None = None
    soft_scalar: Tensor | None = None
    soft_lookup: Tensor | None = None
    pivots: Tensor | None = None


class ProgramState(NamedTuple):
    """The soft state after a step.

    scalars:     (B, 3) scalar answers of the last three steps, newest first
                 (scalar_{t}, scalar_{t−1}, scalar_{t−2}).
    row_selects: (B, 2, R) row selectors of the last two steps, newest first.
    lookup:      (B, R, C) the lookup answer of the last step.
    """

    scalars: Tensor
    row_selects: Tensor
    lookup: Tensor


def initial_state(row_mask: Tensor, columns: int) -> ProgramState:
    """scalar_0 = 0, row_select_0 = 1 on the table's rows (and the same before it), lookup_0 = 0.

    row_mask: (B, R) -> ProgramState.
    """
    batch, rows = row_mask.shape
    return ProgramState(
        scalars=row_mask.new_zeros(batch, 3),
        row_selects=row_mask.unsqueeze(1).expand(batch, 2, rows).clone(),
        lookup=row_mask.new_zeros(batch, rows, columns),
    )


def column_sums(table: Tensor, row_select: Tensor) -> Tensor:
    """sum_j = Σ_i row_select[i] · T[i, j]: (B, R, C), (B, R) -> (B, C)."""
    return torch.einsum("brc,br->bc", table, row_select)


def count(row_select: Tensor) -> Tensor:
    """count = Σ_i row_select[i]: (B, R) -> (B,)."""
    return row_select.sum(-1)


def difference(scalar_before: Tensor, scalar_last: Tensor) -> Tensor:
    """scalar_{t−3} − scalar_{t−1}: (B,), (B,) -> (B,)."""
    return scalar_before - scalar_last


def greater(table: Tensor, pivot: Tensor, sharpness: float = 20.0, hard: bool = False) -> Tensor:
    """g[i, j] = [T[i, j] > pivot], soft as σ(k (T − pivot − ½)) for integer entries:
    (B, R, C), (B,) -> (B, R, C)."""
    gap = table - pivot[:, None, None]
    if hard:
        return (gap > 0).to(table.dtype)
    return torch.sigmoid(sharpness * (gap - 0.5))


def lesser(table: Tensor, pivot: Tensor, sharpness: float = 20.0, hard: bool = False) -> Tensor:
    """l[i, j] = [T[i, j] < pivot], soft as σ(k (pivot − T − ½)): (B, R, C), (B,) -> (B, R, C)."""
    gap = pivot[:, None, None] - table
    if hard:
        return (gap > 0).to(table.dtype)
    return torch.sigmoid(sharpness * (gap - 0.5))


def logical_and(first: Tensor, second: Tensor) -> Tensor:
    """Soft and of two row selectors, their minimum: (B, R), (B, R) -> (B, R)."""
    return torch.minimum(first, second)


def logical_or(first: Tensor, second: Tensor) -> Tensor:
    """Soft or of two row selectors, their maximum: (B, R), (B, R) -> (B, R)."""
    return torch.maximum(first, second)


def extreme_rows(table: Tensor, row_select: Tensor, largest: bool) -> Tensor:
    """Per column, 1 on the rows holding the greatest (``largest``) or least entry among the
    selected rows (row_select > ½; every tie), times row_select: (B, R, C), (B, R) -> (B, R, C).
    Columns with no selected row are all 0."""
    chosen = (row_select > 0.5).unsqueeze(-1)
    fill = -torch.inf if largest else torch.inf
    masked = table.masked_fill(~chosen, fill)
    best = masked.amax(1, keepdim=True) if largest else masked.amin(1, keepdim=True)
    hit = (masked == best) & chosen
    return hit.to(table.dtype) * row_select.unsqueeze(-1)


def text_matches(question: Tensor, text_table: Tensor) -> Tensor:
    """m[i, k] = 1 where the word in row i of text column k occurs in the question.

    question: (Q, B) word ids (0 = padding); text_table: (B, R, K) word ids (0 = empty)
    -> (B, R, K) float.
    """
    hits = text_table.unsqueeze(-1) == question.T[:, None, None, :]  # (B, R, K, Q)
    return (hits.any(-1) & (text_table != 0)).to(torch.get_default_dtype())


def print_lookup(row_select: Tensor, alpha_col: Tensor) -> Tensor:
    """lookup[i, j] = α_col[j] · row_select[i]: (B, R), (B, C) -> (B, R, C)."""
    return row_select.unsqueeze(-1) * alpha_col.unsqueeze(1)


def pivot(number_keys: Tensor, numbers: Tensor, number_mask: Tensor, query: Tensor) -> Tensor:
    """pivot = Σ_k softmax_k(z_k · u) · qn_k over the question's numbers.

    number_keys (Z): (B, K, H), the question RNN's state at the word left of each number;
    numbers: (B, K); number_mask: (B, K), 1 where a number exists; query (u): (H,) -> (B,).
    A question without numbers gives pivot 0.
    """
    scores = torch.einsum("bkh,h->bk", number_keys, query)
    scores = scores.masked_fill(number_mask == 0, -torch.inf)
    weights = torch.softmax(scores, -1).nan_to_num(0.0)
    return (weights * numbers).sum(-1)


def program_step(
    alpha_op: Tensor,
    alpha_col: Tensor,
    state: ProgramState,
    table: Tensor,
    row_mask: Tensor,
    pivot_greater: Tensor,
    pivot_lesser: Tensor,
    sharpness: float = 20.0,
    hard: bool = False,
    matches: Tensor | None = None,
    and_rows: Callable[[Tensor, Tensor], Tensor] = logical_and,
    extremes: Callable[[Tensor, Tensor, bool], Tensor] = extreme_rows,
) -> ProgramState:
    """One step: every operation's result, mixed by α_op (B, O) and α_col (B, C + K).

    scalar_t = α_sum Σ_j α_col_j sum_j + α_count count + α_difference (scalar_{t−3} − scalar_{t−1})
    lookup_t = α_print α_col_j row_select_{t−1}[i]
    row_select_t = Σ_j α_col_j (α_greater g_j + α_lesser l_j + α_max max_j + α_min min_j)
                   + α_and min(rs_{t−1}, rs_{t−2}) + α_or max(rs_{t−1}, rs_{t−2}) + α_reset 1
                   + α_text_match Σ_k α_col_{C+k} m_k
    (row selectors are kept to the table's rows by ``row_mask`` (B, R)).
    table: (B, R, C); pivots: (B,); matches (m): (B, R, K) from :func:`text_matches`, or None
    without text columns. ``hard`` makes greater/lesser exact comparisons. ``and_rows(rs_{t−1},
    rs_{t−2})`` is ``and`` (the paper's :func:`logical_and` by default) and ``extremes(table,
    rs_{t−1}, largest)`` the rows of max / min (:func:`extreme_rows` by default).
    """
    rs_last, rs_before = state.row_selects[:, 0], state.row_selects[:, 1]
    numeric = table.shape[-1]
    alpha_text = alpha_col[:, numeric:]
    alpha_col = alpha_col[:, :numeric]

    def op(name: str) -> Tensor:
        return alpha_op[:, OP[name]]

    def by_column(per_column: Tensor) -> Tensor:  # (B, R, C) -> (B, R)
        return torch.einsum("brc,bc->br", per_column, alpha_col)

    scalar = (
        op("sum") * (column_sums(table, rs_last) * alpha_col).sum(-1)
        + op("count") * count(rs_last)
        + op("difference") * difference(state.scalars[:, 2], state.scalars[:, 0])
    )
    lookup = op("print")[:, None, None] * print_lookup(rs_last, alpha_col)
    greatest = extremes(table, rs_last, True)
    least = extremes(table, rs_last, False)
    rows = (
        op("greater")[:, None] * by_column(greater(table, pivot_greater, sharpness, hard))
        + op("lesser")[:, None] * by_column(lesser(table, pivot_lesser, sharpness, hard))
        + op("max")[:, None] * by_column(greatest)
        + op("min")[:, None] * by_column(least)
        + op("and")[:, None] * and_rows(rs_last, rs_before)
        + op("or")[:, None] * logical_or(rs_last, rs_before)
        + op("reset")[:, None]
    )
    if matches is not None and matches.shape[-1] > 0:
        rows = rows + op("text_match")[:, None] * torch.einsum("brk,bk->br", matches, alpha_text)
    rows = rows * row_mask
    return ProgramState(
        scalars=torch.stack([scalar, state.scalars[:, 0], state.scalars[:, 1]], 1),
        row_selects=torch.stack([rows, rs_last], 1),
        lookup=lookup,
    )


def run_program(
    ops: Tensor,
    columns: Tensor,
    table: Tensor,
    row_mask: Tensor,
    pivot_greater: Tensor,
    pivot_lesser: Tensor,
    matches: Tensor | None = None,
) -> ProgramState:
    """Execute hard programs: ops, columns (B, T) long -> the final state (exact comparisons).
    A column index ≥ C names text column index − C of ``matches`` (B, R, K)."""
    state = initial_state(row_mask, table.shape[-1])
    width = table.shape[-1] + (0 if matches is None else matches.shape[-1])
    for t in range(ops.shape[1]):
        alpha_op = torch.nn.functional.one_hot(ops[:, t], len(OPERATIONS)).to(table.dtype)
        alpha_col = torch.nn.functional.one_hot(columns[:, t], width).to(table.dtype)
        state = program_step(
            alpha_op,
            alpha_col,
            state,
            table,
            row_mask,
            pivot_greater,
            pivot_lesser,
            hard=True,
            matches=matches,
        )
    return state
