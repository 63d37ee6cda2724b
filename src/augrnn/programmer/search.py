"""The probability that the selector runs a program giving the right answer, by enumeration.

Not in the paper. The soft program's loss reaches a step's choice only through the weights of
the steps after it, so a program whose last operation pays only once the steps before it are
right ("the sum of a minus the sum of b greater than x": ``sum(a) -> greater(b) -> sum(b) ->
difference``) gets almost no gradient while the selector weighs that last operation at 1/12:
the factors multiply. This module executes every hard program of T steps on each table (the
selector's per-step choices α_op, α_col read as independent distributions, as a hard program
drawn from them step by step) and returns

    log P(answer) = log Σ_{π : answer(π) = y} Π_t α_op,t[o_t] · α_col,t[c_t]

over the programs π whose scalar answer is the question's (within ½: the answers are integers).
Its gradient raises every step of the right programs at once, in proportion to their posterior
weight, whatever the other steps weigh now: maximum marginal likelihood over the programs
consistent with the answer, which needs only the answer, as the paper's loss does.

Actions: an operation with its column where the operation reads one (sum, greater, lesser, max,
min, text_match), and one action for every choice that leaves no row selector and no scalar:
``print`` (it only writes the lookup answer) with any column, and a column operation with a
column of the other kind (a numeric operation with a text column, ``text_match`` with a
numeric one).
The last step's action must give a scalar (sum, count or difference), so a program that gives
no scalar never counts as answering 0. greater and lesser compare with the model's pivots (a
question's only number, or the blend the pivot attention makes of several).

With A actions there are A^(T−1) paths before the last step (21 actions and 9,261 paths for
three numeric columns and T = 4). The paths of the first T − 2 steps are executed with their
row selectors; those of step T − 1 only as far as the last step reads them (column sums, count,
scalars), and ``max`` / ``min`` once per distinct row selector of a table. Three columns, 16
episodes of up to 100 rows: about 30 ms on one CPU thread, forward and backward.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from augrnn.table_operations import OP, extreme_rows

#: Operations whose row selector ignores the program's state, by their effect.
_COLUMN_ROW_OPS = ("greater", "lesser", "max", "min")


def _actions(columns: int, text_columns: int) -> list[tuple[str, int | None]]:
    """Every (operation, column) a step may take; ("print", None) stands for every choice that
    has no effect on a scalar answer."""
    actions: list[tuple[str, int | None]] = [("sum", c) for c in range(columns)]
    actions += [("count", None), ("difference", None)]
    for name in _COLUMN_ROW_OPS:
        actions += [(name, c) for c in range(columns)]
    actions += [("and", None), ("or", None), ("print", None), ("reset", None)]
    actions += [("text_match", columns + k) for k in range(text_columns)]
    return actions


def _action_log_probs(
    actions: list[tuple[str, int | None]], log_alpha_op: Tensor, log_alpha_col: Tensor, columns: int
) -> Tensor:
    """(B, A): log α_op[o] (+ log α_col[c] for actions with a column) at one step; for
    ("print", None), the log of α_print plus the weight of a column operation with a column of
    the other kind (``columns`` numeric columns first)."""
    ops = torch.tensor([OP[name] for name, _ in actions], device=log_alpha_op.device)
    result = log_alpha_op[:, ops]
    if ("print", None) in actions and log_alpha_col.shape[-1] > columns:
        log_numeric = log_alpha_col[:, :columns].logsumexp(-1)
        log_text = log_alpha_col[:, columns:].logsumexp(-1)
        numeric_ops = [OP[name] for name in ("sum", *_COLUMN_ROW_OPS)]
        wasted = torch.stack(
            [
                log_alpha_op[:, OP["print"]],
                log_alpha_op[:, numeric_ops].logsumexp(-1) + log_text,
                log_alpha_op[:, OP["text_match"]] + log_numeric,
            ],
            -1,
        ).logsumexp(-1)
        result = result.clone()
        result[:, actions.index(("print", None))] = wasted
    with_column = [i for i, (_, col) in enumerate(actions) if col is not None]
    cols = torch.tensor([actions[i][1] for i in with_column], device=log_alpha_op.device)
    index = torch.tensor(with_column, device=log_alpha_op.device)
    return result.index_add(1, index, log_alpha_col[:, cols])


def _check(log_alpha_op: Tensor, log_alpha_col: Tensor, table: Tensor, matches: Tensor | None):
    if log_alpha_op.shape[0] < 1:
        raise ValueError("a program needs at least one step")
    text_columns = 0 if matches is None else matches.shape[-1]
    if log_alpha_col.shape[-1] != table.shape[-1] + text_columns:
        raise ValueError(
            f"log_alpha_col has {log_alpha_col.shape[-1]} columns, the table "
            f"{table.shape[-1]} numeric and {text_columns} text"
        )
    return _actions(table.shape[-1], text_columns)


def answer_log_likelihood(
    log_alpha_op: Tensor,
    log_alpha_col: Tensor,
    table: Tensor,
    row_mask: Tensor,
    pivots: Tensor,
    answers: Tensor,
    matches: Tensor | None = None,
    tolerance: float = 0.5,
) -> Tensor:
    """log P(answer): the log of the total probability of the hard programs whose scalar answer
    is within ``tolerance`` of ``answers``; −∞ where none is.

    log_alpha_op: (T, B, O) log α_op per step; log_alpha_col: (T, B, C + K) log α_col;
    table: (B, R, C); row_mask: (B, R); pivots: (B, 2), greater's and lesser's; answers: (B,);
    matches: (B, R, K) text matches or None -> (B,). Differentiable in the log α's; the
    programs' execution carries no gradient.
    """
    actions = _check(log_alpha_op, log_alpha_col, table, matches)
    steps, batch = log_alpha_op.shape[:2]
    if batch == 0:
        return log_alpha_op.new_zeros(0)
    with torch.no_grad():
        state, effects = _first_steps(actions, steps, table, row_mask, pivots, matches)
        last = _last_step(state, table) if steps == 1 else effects.last_step(state, actions)
        right = (last - answers[:, None, None]).abs() < tolerance
    columns = table.shape[-1]
    final = [("sum", c) for c in range(columns)] + [("count", None), ("difference", None)]
    return _log_total(right, actions, final, log_alpha_op, log_alpha_col, columns)


def lookup_log_likelihood(
    log_alpha_op: Tensor,
    log_alpha_col: Tensor,
    table: Tensor,
    row_mask: Tensor,
    pivots: Tensor,
    lookups: Tensor,
    matches: Tensor | None = None,
) -> Tensor:
    """log P(answer) for lookup answers: the log of the total probability of the hard programs
    ending in ``print`` of a numeric column whose lookup answer is ``lookups`` (B, R, C) (0/1,
    over the table's rows) exactly; −∞ where none is. The other arguments and the result as in
    :func:`answer_log_likelihood`."""
    actions = _check(log_alpha_op, log_alpha_col, table, matches)
    steps, batch = log_alpha_op.shape[:2]
    if batch == 0:
        return log_alpha_op.new_zeros(0)
    with torch.no_grad():
        wanted = lookups * row_mask.unsqueeze(-1)
        state, effects = _first_steps(actions, steps, table, row_mask, pivots, matches)
        if steps == 1:
            right = _prints(state.rs_last.expand(batch, 1, -1), wanted)
        else:
            right = effects.last_prints(state, actions, wanted)
    final = [("print", c) for c in range(table.shape[-1])]
    return _log_total(right, actions, final, log_alpha_op, log_alpha_col, table.shape[-1])


def _first_steps(
    actions: list[tuple[str, int | None]],
    steps: int,
    table: Tensor,
    row_mask: Tensor,
    pivots: Tensor,
    matches: Tensor | None,
) -> tuple[_PathState, _Effects]:
    """Every path of the first T − 2 steps (one path, the initial state, for T ≤ 2), executed,
    and the effects that read the two steps left."""
    state = _PathState.initial(table, row_mask)
    effects = _Effects(table, row_mask, pivots, matches)
    for _ in range(steps - 2):
        state = effects.expand(state, actions)
    return state, effects


def _log_total(
    right: Tensor,
    actions: list[tuple[str, int | None]],
    final: list[tuple[str, int | None]],
    log_alpha_op: Tensor,
    log_alpha_col: Tensor,
    columns: int,
) -> Tensor:
    """log Σ over the right programs of their probability: ``right`` (B, P, F) marks path p
    (the first T − 1 steps' ``actions``, the first step varying slowest) followed by ``final``
    action f -> (B,)."""
    steps, batch = log_alpha_op.shape[:2]
    # The log-probability of each right program only: the sum over steps of its actions'.
    episode, path, last_action = right.nonzero(as_tuple=True)
    log_program = _action_log_probs(final, log_alpha_op[-1], log_alpha_col[-1], columns)[
        episode, last_action
    ]
    for t in range(steps - 1):
        action = path // len(actions) ** (steps - 2 - t) % len(actions)
        log_step = _action_log_probs(actions, log_alpha_op[t], log_alpha_col[t], columns)
        log_program = log_program + log_step[episode, action]
    # Programs through an operation masked out (probability 0) do not count.
    possible = log_program > -torch.inf
    episode, log_program = episode[possible], log_program[possible]
    # log Σ exp per episode, shifted by each episode's largest term.
    largest = log_program.new_full((batch,), -torch.inf)
    largest = largest.scatter_reduce(0, episode, log_program.detach(), "amax")
    shifted = (log_program - largest[episode]).exp()
    total = log_program.new_zeros(batch).index_add(0, episode, shifted)
    return largest + total.log()


class _PathState(NamedTuple):
    """Every path's state: ``rs_last``, ``rs_before`` (B, P, R) its last two row selectors (or
    (B, 1, R) while every path shares them) and ``scalars`` (B, P, 3) its last three scalars,
    newest first."""

    rs_last: Tensor
    rs_before: Tensor
    scalars: Tensor

    @staticmethod
    def initial(table: Tensor, row_mask: Tensor) -> _PathState:
        rows = row_mask.unsqueeze(1)
        return _PathState(rows, rows, table.new_zeros(table.shape[0], 1, 3))


def _last_step(state: _PathState, table: Tensor) -> Tensor:
    """Each path followed by each operation a last step may take: the sum of each column, the
    count, the difference s_{T−3} − s_{T−1}: (B, P, C + 2)."""
    sums = torch.einsum("bpr,brc->bpc", state.rs_last, table)
    rs_last = state.rs_last.expand(*state.scalars.shape[:2], -1)
    difference = state.scalars[..., 2] - state.scalars[..., 0]
    return torch.cat([sums, rs_last.sum(-1, keepdim=True), difference.unsqueeze(-1)], -1)


def _prints(rows: Tensor, wanted: Tensor) -> Tensor:
    """Whether ``print`` of each numeric column over each row selector ``rows`` (B, P, R) writes
    exactly the cells ``wanted`` (B, R, C) 0/1: (B, P, C). print(c) writes column c alone, so
    only an answer held in one column, and not empty, can be right."""
    cells = wanted.sum(1)  # (B, C)
    column = cells.argmax(-1)  # the answer's column, where it has one
    alone = (cells.sum(-1) == cells.max(-1).values) & (cells.max(-1).values > 0)  # (B,)
    target = wanted.gather(2, column[:, None, None].expand(-1, wanted.shape[1], 1))  # (B, R, 1)
    same = (rows == target.transpose(1, 2)).all(-1) & alone.unsqueeze(-1)  # (B, P)
    which = torch.nn.functional.one_hot(column, wanted.shape[-1]).bool()  # (B, C)
    return same.unsqueeze(-1) & which.unsqueeze(1)


def _distinct_rows(rows: Tensor, owner: Tensor) -> tuple[Tensor, Tensor]:
    """The distinct (owner, row) pairs of 0/1 ``rows`` (N, R) with ``owner`` (N,) long: the index
    of each one's first occurrence (U,) and each row's pair (N,) in [0, U). Exact: the rows are
    packed into 31-bit words, read one at a time into the key of a 1-D unique."""
    count, width = rows.shape
    bits = torch.nn.functional.pad(rows.double(), (0, -width % 31)).view(count, -1, 31)
    powers = 2.0 ** torch.arange(31, dtype=torch.float64, device=rows.device)
    words = (bits @ powers).long()  # (N, W), each < 2^31, exact in float64
    inverse = owner
    for w in range(words.shape[1]):
        inverse = torch.unique(inverse * 2**31 + words[:, w], return_inverse=True)[1]
    distinct = int(inverse.max()) + 1
    positions = torch.arange(count, device=rows.device)
    first = positions.new_full((distinct,), count).scatter_reduce(0, inverse, positions, "amin")
    return first, inverse


class _Effects:
    """The row selector and scalar each action leaves, for every path of a :class:`_PathState`."""

    def __init__(
        self, table: Tensor, row_mask: Tensor, pivots: Tensor, matches: Tensor | None
    ) -> None:
        self.table = table
        mask = row_mask.unsqueeze(-1)
        #: Row selectors that do not depend on the path, (B, R) per action.
        self.fixed: dict[tuple[str, int | None], Tensor] = {("reset", None): row_mask}
        greater = (table > pivots[:, 0, None, None]).to(table.dtype) * mask
        lesser = (table < pivots[:, 1, None, None]).to(table.dtype) * mask
        for c in range(table.shape[-1]):
            self.fixed["greater", c] = greater[..., c]
            self.fixed["lesser", c] = lesser[..., c]
        if matches is not None:
            for k in range(matches.shape[-1]):
                self.fixed["text_match", table.shape[-1] + k] = matches[..., k] * row_mask

    def _extremes(self, rs_last: Tensor) -> tuple[dict[str, Tensor], Tensor, Tensor]:
        """The rows holding each column's greatest and least entry among each path's selected
        rows, computed once per distinct row selector of a table (paths share most): ``{"max",
        "min"}`` of (U, R, C) for the U distinct selectors, the index (B, P) of each path's, and
        each distinct selector's table (U, R, C)."""
        batch, paths, _ = rs_last.shape
        owner = torch.arange(batch, device=rs_last.device).repeat_interleave(paths)
        flat = rs_last.flatten(0, 1)
        first, inverse = _distinct_rows(flat, owner)
        tables = self.table[owner[first]]
        hits = {
            name: extreme_rows(tables, flat[first], largest=name == "max")
            for name in ("max", "min")
        }
        return hits, inverse.view(batch, paths), tables

    def _each(
        self, state: _PathState, actions: list[tuple[str, int | None]], summary: bool
    ) -> list[tuple[Tensor | None, Tensor, tuple[Tensor, Tensor] | None]]:
        """Per action: the row selector it leaves ((B, P, R), (B, 1, R) when the same for every
        path, or None for none), its scalar (B, P), and with ``summary`` for max and min,
        instead of the row selector, its column sums (B, P, C) and count (B, P)."""
        table, (rs_last, rs_before, scalars) = self.table, state
        batch, paths = scalars.shape[:2]
        rs_last = rs_last.expand(batch, paths, -1)
        rs_before = rs_before.expand(batch, paths, -1)
        extremes: dict[tuple[str, int], tuple[Tensor | None, tuple[Tensor, Tensor] | None]] = {}
        if any(name in ("max", "min") for name, _ in actions):
            hits, inverse, tables = self._extremes(rs_last)
            for name, found in hits.items():
                for c in range(table.shape[-1]):
                    chosen = found[..., c]  # (U, R)
                    if summary:
                        sums = torch.einsum("ur,urk->uk", chosen, tables)
                        extremes[name, c] = None, (sums[inverse], chosen.sum(-1)[inverse])
                    else:
                        extremes[name, c] = chosen[inverse], None
        sums = torch.einsum("bpr,brc->bpc", rs_last, table)
        zero = scalars.new_zeros(batch, paths)
        result: list[tuple[Tensor | None, Tensor, tuple[Tensor, Tensor] | None]] = []
        for name, col in actions:
            if (name, col) in self.fixed:
                result.append((self.fixed[name, col].unsqueeze(1), zero, None))
            elif name == "sum":
                result.append((None, sums[..., col], None))
            elif name == "count":
                result.append((None, rs_last.sum(-1), None))
            elif name == "difference":
                result.append((None, scalars[..., 2] - scalars[..., 0], None))
            elif name in ("max", "min"):
                assert col is not None
                selected, summarised = extremes[name, col]
                result.append((selected, zero, summarised))
            elif name == "and":
                result.append((torch.minimum(rs_last, rs_before), zero, None))
            elif name == "or":
                result.append((torch.maximum(rs_last, rs_before), zero, None))
            else:  # print: neither
                result.append((None, zero, None))
        return result

    def _scalars(self, state: _PathState, new: list[Tensor]) -> Tensor:
        """(B, P · A, 3): each action's scalar before the path's two newest."""
        newest = torch.stack(new, 2)  # (B, P, A)
        older = state.scalars[..., :2].unsqueeze(2).expand(*newest.shape, 2)
        return torch.cat([newest.unsqueeze(-1), older], -1).flatten(1, 2)

    def expand(self, state: _PathState, actions: list[tuple[str, int | None]]) -> _PathState:
        """Every path followed by every action: P · A paths, the action varying fastest."""
        batch, paths = state.scalars.shape[:2]
        rows = self.table.shape[1]
        effects = self._each(state, actions, summary=False)
        shape = (batch, paths, rows)
        new_rows = [
            state.scalars.new_zeros(shape) if selected is None else selected.expand(shape)
            for selected, _, _ in effects
        ]
        rs_before = state.rs_last.expand(shape).unsqueeze(2).expand(-1, -1, len(actions), -1)
        return _PathState(
            torch.stack(new_rows, 2).flatten(1, 2),
            rs_before.flatten(1, 2),
            self._scalars(state, [scalar for _, scalar, _ in effects]),
        )

    def last_step(self, state: _PathState, actions: list[tuple[str, int | None]]) -> Tensor:
        """:func:`_last_step` of :meth:`expand`'s paths, without forming their row selectors:
        (B, P · A, C + 2)."""
        batch, paths = state.scalars.shape[:2]
        columns = self.table.shape[-1]
        last = self.table.new_zeros(batch, paths, len(actions), columns + 2)
        for i, (selected, scalar, summarised) in enumerate(self._each(state, actions, True)):
            if summarised is not None:
                last[:, :, i, :columns], last[:, :, i, columns] = summarised
            elif selected is not None:
                last[:, :, i, :columns] = torch.einsum("bpr,brc->bpc", selected, self.table)
                last[:, :, i, columns] = selected.sum(-1)
            # The difference s_{T−3} − s_{T−1}: s_{T−3} is the path's scalar before its newest.
            last[:, :, i, columns + 1] = state.scalars[..., 1] - scalar
        return last.flatten(1, 2)

    def last_prints(
        self, state: _PathState, actions: list[tuple[str, int | None]], wanted: Tensor
    ) -> Tensor:
        """:func:`_prints` over :meth:`expand`'s paths (B, P · A, C), without forming the
        selectors that every path shares more than once."""
        batch, paths = state.scalars.shape[:2]
        shape = (batch, paths, len(actions), self.table.shape[-1])
        right = torch.zeros(shape, dtype=torch.bool, device=self.table.device)
        for i, (selected, _, _) in enumerate(self._each(state, actions, summary=False)):
            if selected is not None:
                right[:, :, i] = _prints(selected, wanted)
        return right.flatten(1, 2)


__all__ = ["answer_log_likelihood", "lookup_log_likelihood"]
