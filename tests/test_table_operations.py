import torch
import torch.nn.functional as F

from augrnn import table_operations as ops
from augrnn.table_operations import OP, OPERATIONS

B, R, C = 2, 5, 3


def _table() -> torch.Tensor:
    return torch.arange(B * R * C, dtype=torch.float32).reshape(B, R, C) - 10.0


def test_shapes_with_a_different_size_per_dimension():
    table, rows = _table(), torch.rand(B, R)
    pivot = torch.tensor([0.0, 3.0])
    assert ops.column_sums(table, rows).shape == (B, C)
    assert ops.count(rows).shape == (B,)
    assert ops.greater(table, pivot).shape == (B, R, C)
    assert ops.lesser(table, pivot).shape == (B, R, C)
    assert ops.extreme_rows(table, rows, largest=True).shape == (B, R, C)
    assert ops.print_lookup(rows, torch.rand(B, C)).shape == (B, R, C)
    state = ops.initial_state(torch.ones(B, R), C)
    alpha_op = torch.softmax(torch.randn(B, len(OPERATIONS)), -1)
    alpha_col = torch.softmax(torch.randn(B, C), -1)
    new = ops.program_step(alpha_op, alpha_col, state, table, torch.ones(B, R), pivot, pivot)
    assert new.scalars.shape == (B, 3)
    assert new.row_selects.shape == (B, 2, R)
    assert new.lookup.shape == (B, R, C)


def test_greater_and_lesser_against_hand_computation():
    table = torch.tensor([[[-3.0], [0.0], [2.0], [5.0]]])
    pivot = torch.tensor([2.0])
    assert ops.greater(table, pivot, hard=True).flatten().tolist() == [0, 0, 0, 1]
    assert ops.lesser(table, pivot, hard=True).flatten().tolist() == [1, 1, 0, 0]
    soft_g = ops.greater(table, pivot).flatten()
    soft_l = ops.lesser(table, pivot).flatten()
    assert torch.allclose(soft_g, torch.tensor([0.0, 0.0, 0.0, 1.0]), atol=1e-4)
    assert torch.allclose(soft_l, torch.tensor([1.0, 1.0, 0.0, 0.0]), atol=1e-4)


def test_sum_and_count_with_soft_row_selectors():
    table = torch.tensor([[[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]]])
    rows = torch.tensor([[0.5, 0.0, 0.25]])
    assert ops.column_sums(table, rows).tolist() == [[0.5 + 0.75, 5.0 + 7.5]]
    assert ops.count(rows).tolist() == [0.75]
    assert ops.difference(torch.tensor([7.0]), torch.tensor([2.0])).tolist() == [5.0]
    a, b = torch.tensor([[0.25, 0.75]]), torch.tensor([[0.5, 0.125]])
    assert ops.logical_and(a, b).tolist() == [[0.25, 0.125]]
    assert ops.logical_or(a, b).tolist() == [[0.5, 0.75]]


def test_extreme_rows_marks_every_tie_among_selected_rows():
    table = torch.tensor([[[4.0], [9.0], [9.0], [1.0]]])
    everything = torch.ones(1, 4)
    assert ops.extreme_rows(table, everything, largest=True).flatten().tolist() == [0, 1, 1, 0]
    assert ops.extreme_rows(table, everything, largest=False).flatten().tolist() == [0, 0, 0, 1]
    some = torch.tensor([[1.0, 0.0, 0.0, 1.0]])
    assert ops.extreme_rows(table, some, largest=True).flatten().tolist() == [1, 0, 0, 0]


def test_pivot_attends_over_existing_numbers_only():
    keys = torch.zeros(1, 3, 4)
    keys[0, 1, 0] = 100.0
    numbers = torch.tensor([[5.0, 7.0, 99.0]])
    query = torch.tensor([1.0, 0.0, 0.0, 0.0])
    assert ops.pivot(keys, numbers, torch.tensor([[1.0, 1.0, 0.0]]), query).item() == 7.0
    # Equal scores: the mean of the existing numbers; none: 0.
    flat = torch.zeros(1, 3, 4)
    assert ops.pivot(flat, numbers, torch.tensor([[1.0, 1.0, 0.0]]), query).item() == 6.0
    assert ops.pivot(flat, numbers, torch.zeros(1, 3), query).item() == 0.0


def _hard(names: list[str], columns: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.tensor([[OP[n] for n in names]]), torch.tensor([columns])


def test_one_hot_programs_reproduce_exact_results():
    table = torch.tensor([[[5.0, -1.0], [-2.0, 4.0], [7.0, 3.0], [0.0, 0.0]]])
    row_mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])  # the last row is padding
    gt, lt = torch.tensor([1.0]), torch.tensor([6.0])

    def run(names, columns):
        o, c = _hard(names, columns)
        return ops.run_program(o, c, table, row_mask, gt, lt)

    assert run(["reset"] * 3 + ["sum"], [0, 0, 0, 1]).scalars[0, 0].item() == 6.0
    assert run(["reset"] * 3 + ["count"], [0] * 4).scalars[0, 0].item() == 3.0
    # sum of column 1 where column 0 > 1: rows 0 and 2.
    assert run(["reset", "reset", "greater", "sum"], [0, 0, 0, 1]).scalars[0, 0].item() == 2.0
    # count of column 0 with 1 < x < 6: row 0 only.
    assert run(["greater", "lesser", "and", "count"], [0, 0, 0, 0]).scalars[0, 0].item() == 1.0
    # or: rows with x > 1 or x < 6 = all three.
    assert run(["greater", "lesser", "or", "count"], [0, 0, 0, 0]).scalars[0, 0].item() == 3.0
    # sum(col 0) − sum(col 1 where col 1 > 1) = 10 − 7.
    assert run(["sum", "greater", "sum", "difference"], [0, 1, 1, 0]).scalars[0, 0].item() == 3.0
    lookup = run(["reset", "reset", "max", "print"], [1, 1, 1, 1]).lookup
    expected = torch.zeros(1, 4, 2)
    expected[0, 1, 1] = 1.0
    assert torch.equal(lookup, expected)
    lookup = run(["reset", "reset", "min", "print"], [0, 0, 0, 0]).lookup
    assert lookup[0, :, 0].tolist() == [0, 1, 0, 0] and lookup[0, :, 1].sum() == 0


def test_soft_step_is_the_mixture_of_the_hard_steps():
    torch.manual_seed(0)
    table = torch.randint(-9, 10, (B, R, C)).float()
    row_mask = torch.ones(B, R)
    state = ops.initial_state(row_mask, C)
    pivot = torch.tensor([0.0, 2.0])
    alpha_op = torch.softmax(torch.randn(B, len(OPERATIONS)), -1)
    alpha_col = torch.softmax(torch.randn(B, C), -1)
    soft = ops.program_step(alpha_op, alpha_col, state, table, row_mask, pivot, pivot, hard=True)
    mixed_scalar = torch.zeros(B)
    for o in range(len(OPERATIONS)):
        for c in range(C):
            one_op = F.one_hot(torch.full((B,), o), len(OPERATIONS)).float()
            one_col = F.one_hot(torch.full((B,), c), C).float()
            hard = ops.program_step(
                one_op, one_col, state, table, row_mask, pivot, pivot, hard=True
            )
            mixed_scalar += alpha_op[:, o] * alpha_col[:, c] * hard.scalars[:, 0]
    assert torch.allclose(soft.scalars[:, 0], mixed_scalar, atol=1e-4)


def test_text_match_selects_rows_whose_word_the_question_holds():
    # Question ids (Q=3, B=2); text table (B, R=4, K=2) of word ids, 0 = empty (padding row).
    question = torch.tensor([[5, 9], [7, 8], [0, 3]])
    text = torch.tensor(
        [
            [[7, 11], [12, 5], [7, 7], [0, 0]],
            [[9, 3], [4, 4], [9, 9], [3, 0]],
        ]
    )
    matches = ops.text_matches(question, text)
    assert matches.shape == (2, 4, 2)
    assert matches[0].tolist() == [[1, 0], [0, 1], [1, 1], [0, 0]]
    assert matches[1].tolist() == [[1, 1], [0, 0], [1, 1], [1, 0]]
    # text_match on text column 1 (index C + 1 of α_col) then count; numeric columns C = 2.
    table = torch.zeros(2, 4, 2)
    row_mask = torch.tensor([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    o, c = _hard(["reset", "reset", "text_match", "count"], [0, 0, 3, 0])
    state = ops.run_program(
        o.expand(2, -1), c.expand(2, -1), table, row_mask, torch.zeros(2), torch.zeros(2), matches
    )
    assert state.scalars[:, 0].tolist() == [2.0, 2.0]
