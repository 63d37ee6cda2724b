import itertools

import pytest
import torch

from augrnn.programmer.search import answer_log_likelihood, lookup_log_likelihood
from augrnn.table_operations import OP, OPERATIONS, run_program, text_matches

#: Operations that read a column; the others' column index is ignored.
COLUMN_OPS = {"sum", "greater", "lesser", "max", "min", "print", "text_match"}
SCALAR_OPS = {OP["sum"], OP["count"], OP["difference"]}


def _choices(width, matches):
    """Every (operation, column) a step may take, columns of the other kind (no effect)
    included."""
    choices = []
    for op in OPERATIONS:
        if op == "text_match" and matches is None:
            continue
        if op in COLUMN_OPS:
            choices += [(OP[op], c) for c in range(width)]
        else:
            choices.append((OP[op], None))
    return choices


def _executed(programs, log_op, log_col, table, row_mask, pivots, matches):
    """Each program, executed by run_program: (its final state, its log-probability (B,))."""
    batch = log_op.shape[1]
    for program in programs:
        ops = torch.tensor([[op for op, _ in program]] * batch)
        cols = torch.tensor([[0 if c is None else c for _, c in program]] * batch)
        state = run_program(ops, cols, table, row_mask, pivots[:, 0], pivots[:, 1], matches)
        log_p = sum(
            log_op[t, :, op] + (0.0 if c is None else log_col[t, :, c])
            for t, (op, c) in enumerate(program)
        )
        yield state, log_p


def _brute_force(log_op, log_col, table, row_mask, pivots, answers, matches=None):
    """Σ over every (operation, column) sequence, executed by run_program, of its probability
    where its last operation gives a scalar within ½ of the answer: (B,) probabilities. A
    numeric operation at the last step with a text column gives no scalar either."""
    steps, batch, _ = log_op.shape
    programs = [
        program
        for program in itertools.product(_choices(log_col.shape[-1], matches), repeat=steps)
        if program[-1][0] in SCALAR_OPS
        and not (program[-1][0] == OP["sum"] and program[-1][1] >= table.shape[-1])
    ]
    total = torch.zeros(batch, dtype=log_op.dtype)
    args = (log_op, log_col, table, row_mask, pivots, matches)
    for state, log_p in _executed(programs, *args):
        right = (state.scalars[:, 0] - answers).abs() < 0.5
        total = total + torch.where(right, log_p.exp(), 0.0)
    return total


def _random_case(steps, batch, rows, columns, text_columns=0, seed=0):
    generator = torch.Generator().manual_seed(seed)
    table = torch.randint(-4, 5, (batch, rows, columns), generator=generator).double()
    row_mask = torch.ones(batch, rows, dtype=torch.float64)
    row_mask[0, -1] = 0.0  # a padding row
    table[0, -1] = 0.0
    pivots = torch.randint(-2, 3, (batch, 2), generator=generator).double()
    ops = len(OPERATIONS)
    log_op = torch.randn(steps, batch, ops, generator=generator, dtype=torch.float64)
    matches, question = None, None
    if text_columns:
        text = torch.randint(1, 4, (batch, rows, text_columns), generator=generator)
        question = torch.tensor([[2] * batch, [5] * batch])
        matches = text_matches(question, text).double() * row_mask.unsqueeze(-1)
    else:
        log_op[..., OP["text_match"]] = -torch.inf
    log_op = log_op.log_softmax(-1)
    width = columns + text_columns
    log_col = torch.randn(steps, batch, width, generator=generator, dtype=torch.float64)
    return log_op, log_col.log_softmax(-1), table, row_mask, pivots, matches


@pytest.mark.parametrize(
    ("steps", "columns", "text_columns"), [(1, 3, 0), (2, 2, 0), (3, 2, 0), (2, 2, 1)]
)
def test_equals_the_sum_over_every_program_executed_one_by_one(steps, columns, text_columns):
    log_op, log_col, table, row_mask, pivots, matches = _random_case(
        steps, 3, 4, columns, text_columns
    )
    # Answers that some programs give (a column's sum, the row count, a difference) and one
    # that none does.
    answers = torch.stack([table[0].sum(0)[1], row_mask[1].sum(), torch.tensor(1000.0)]).double()
    if steps >= 3:
        answers[2] = table[2].sum(0)[0] - table[2, :, 1][table[2, :, 1] > pivots[2, 0]].sum()
    expected = _brute_force(log_op, log_col, table, row_mask, pivots, answers, matches)
    got = answer_log_likelihood(log_op, log_col, table, row_mask, pivots, answers, matches)
    assert torch.allclose(got.exp(), expected, atol=1e-12)
    assert (expected[:2] > 0).all()
    if steps < 3:
        assert got[2] == -torch.inf


def test_a_certain_program_that_answers_has_log_likelihood_zero_and_a_wrong_one_minus_inf():
    # The difference program sum(a) -> greater(b) -> sum(b) -> difference, chosen with certainty.
    table = torch.tensor([[[1.0, 5.0], [2.0, -3.0], [4.0, 7.0]]])
    row_mask, pivots = torch.ones(1, 3), torch.tensor([[0.0, 0.0]])
    program = [(OP["sum"], 0), (OP["greater"], 1), (OP["sum"], 1), (OP["difference"], 0)]
    log_op = torch.full((4, 1, len(OPERATIONS)), -torch.inf)
    log_col = torch.full((4, 1, 2), -torch.inf)
    for t, (op, col) in enumerate(program):
        log_op[t, 0, op], log_col[t, 0, col] = 0.0, 0.0
    right = torch.tensor([7.0 - 12.0])
    args = (log_op, log_col, table, row_mask, pivots)
    assert answer_log_likelihood(*args, right).item() == 0.0
    assert answer_log_likelihood(*args, right + 1).item() == -torch.inf


def test_episodes_without_a_right_program_leave_the_others_gradients_finite():
    log_op, log_col, table, row_mask, pivots, _ = _random_case(2, 2, 4, 2)
    op_scores = log_op.clamp_min(-30.0).clone().requires_grad_(True)
    masked = op_scores.masked_fill(log_op == -torch.inf, -torch.inf)
    answers = torch.stack([table[0].sum(0)[0], torch.tensor(1000.0).double()])
    log_l = answer_log_likelihood(masked.log_softmax(-1), log_col, table, row_mask, pivots, answers)
    assert torch.isfinite(log_l[0]) and log_l[1] == -torch.inf
    log_l[torch.isfinite(log_l)].sum().backward()
    assert torch.isfinite(op_scores.grad).all()
    assert op_scores.grad[:, 1].abs().max() == 0


def test_gradient_raises_every_step_of_the_right_program():
    torch.manual_seed(0)
    table = torch.randint(-50, 50, (1, 8, 3)).float()
    row_mask, pivots = torch.ones(1, 8), torch.tensor([[10.0, 10.0]])
    b = table[0, :, 2]
    answer = table[0, :, 0].sum() - b[b > 10].sum()
    op_scores = torch.zeros(4, 1, len(OPERATIONS), requires_grad=True)
    col_scores = torch.zeros(4, 1, 3, requires_grad=True)
    log_op = op_scores.masked_fill(torch.arange(len(OPERATIONS)) == OP["text_match"], -torch.inf)
    log_l = answer_log_likelihood(
        log_op.log_softmax(-1), col_scores.log_softmax(-1), table, row_mask, pivots, answer[None]
    )
    log_l.sum().backward()
    intended = [("sum", 0), ("greater", 2), ("sum", 2), ("difference", None)]
    for t, (op, col) in enumerate(intended):
        assert op_scores.grad[t, 0].argmax().item() == OP[op], t
        if col is not None:
            assert col_scores.grad[t, 0].argmax().item() == col, t
    assert torch.isfinite(op_scores.grad).all() and torch.isfinite(col_scores.grad).all()


def test_gradcheck_in_float64():
    log_op, log_col, table, row_mask, pivots, _ = _random_case(2, 2, 4, 2)
    answers = torch.stack([table[0].sum(0)[0], row_mask[1].sum()])
    op_scores = log_op.clamp_min(-30.0).clone().requires_grad_(True)
    col_scores = log_col.clone().requires_grad_(True)

    def log_likelihood(op_scores, col_scores):
        masked = op_scores.masked_fill(log_op == -torch.inf, -torch.inf)
        return answer_log_likelihood(
            masked.log_softmax(-1), col_scores.log_softmax(-1), table, row_mask, pivots, answers
        )

    assert torch.autograd.gradcheck(log_likelihood, (op_scores, col_scores))


def test_rejects_columns_that_do_not_match_the_table():
    log_op, log_col, table, row_mask, pivots, _ = _random_case(2, 2, 4, 2)
    with pytest.raises(ValueError, match="log_alpha_col has 3 columns"):
        answer_log_likelihood(log_op, torch.zeros(2, 2, 3), table, row_mask, pivots, torch.zeros(2))


def _brute_force_lookup(log_op, log_col, table, row_mask, pivots, lookups, matches=None):
    """Σ over every sequence ending in print of a numeric column, executed by run_program, of
    its probability where its lookup answer is ``lookups`` exactly: (B,) probabilities."""
    steps, batch, _ = log_op.shape
    starts = itertools.product(_choices(log_col.shape[-1], matches), repeat=steps - 1)
    last = [(OP["print"], c) for c in range(table.shape[-1])]
    programs = [(*start, end) for start in starts for end in last]
    total = torch.zeros(batch, dtype=log_op.dtype)
    args = (log_op, log_col, table, row_mask, pivots, matches)
    for state, log_p in _executed(programs, *args):
        right = (state.lookup == lookups).flatten(1).all(-1)
        total = total + torch.where(right, log_p.exp(), 0.0)
    return total


@pytest.mark.parametrize(("steps", "text_columns"), [(1, 0), (2, 0), (3, 0), (2, 1)])
def test_lookup_equals_the_sum_over_every_program_executed_one_by_one(steps, text_columns):
    log_op, log_col, table, row_mask, pivots, matches = _random_case(steps, 3, 4, 2, text_columns)
    # Answers some programs give: the table's greatest entries of column 1, the rows of
    # column 0 above the pivot (a lookup no one-step program gives), and a cell in two columns.
    lookups = torch.zeros_like(table)
    column = table[0, :, 1].masked_fill(row_mask[0] == 0, -torch.inf)
    lookups[0, :, 1] = (column == column.max()).double()
    lookups[1, :, 0] = (table[1, :, 0] > pivots[1, 0]).double()
    lookups[2, 0, :] = 1.0
    expected = _brute_force_lookup(log_op, log_col, table, row_mask, pivots, lookups, matches)
    got = lookup_log_likelihood(log_op, log_col, table, row_mask, pivots, lookups, matches)
    assert torch.allclose(got.exp(), expected, atol=1e-12)
    assert got[2] == -torch.inf
    assert (expected[0] > 0) == (steps >= 2) and (expected[1] > 0) == (steps >= 2)
