import torch
import torch.nn.functional as F

from augrnn.programmer import operations as ops
from augrnn.programmer.operations import OP, OPERATIONS

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
    assert ops.expected_extreme_rows(table, rows, largest=False).shape == (B, R, C)
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


def test_the_product_and_is_the_minimum_on_hard_selectors_and_passes_both_a_gradient():
    hard_a, hard_b = torch.tensor([[1.0, 1.0, 0.0, 0.0]]), torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    assert torch.equal(
        ops.logical_and(hard_a, hard_b, product=True), ops.logical_and(hard_a, hard_b)
    )
    a = torch.tensor([[0.3, 0.8]], requires_grad=True)
    b = torch.tensor([[0.6, 0.5]], requires_grad=True)
    ops.logical_and(a, b, product=True).sum().backward()
    assert torch.allclose(a.grad, b.detach()) and torch.allclose(b.grad, a.detach())
    a.grad = b.grad = None
    ops.logical_and(a, b).sum().backward()
    # the minimum passes each entry's gradient to one selector only
    assert torch.equal(a.grad + b.grad, torch.ones(1, 2)) and (a.grad * b.grad == 0).all()


def test_expected_extremes_equal_the_extremes_on_hard_selectors_ties_included():
    generator = torch.Generator().manual_seed(0)
    table = torch.randint(-3, 4, (B, 7, C), generator=generator).float()  # many ties
    rows = (torch.rand(B, 7, generator=generator) > 0.4).float()
    orders = ops.extreme_orders(table)
    for largest, order in zip((True, False), orders, strict=True):
        expected = ops.expected_extreme_rows(table, rows, largest)
        assert torch.equal(expected, ops.extreme_rows(table, rows, largest))
        assert torch.equal(expected, ops.expected_extreme_rows(table, rows, largest, order))


def test_expected_extremes_are_the_chance_of_holding_the_extreme_of_a_drawn_selection():
    table = torch.tensor([[[4.0], [9.0], [1.0]]])
    rows = torch.tensor([[0.5, 0.25, 1.0]])
    greatest = ops.expected_extreme_rows(table, rows, largest=True).flatten()
    # 9 when drawn; else 4 when drawn; else 1 (always drawn)
    assert torch.allclose(greatest, torch.tensor([0.5 * 0.75, 0.25, 1.0 * 0.5 * 0.75]))
    least = ops.expected_extreme_rows(table, rows, largest=False).flatten()
    assert torch.allclose(least, torch.tensor([0.0, 0.0, 1.0]))
    # with distinct entries some row holds the extreme unless no row is drawn
    soft = torch.rand(B, R)
    total = ops.expected_extreme_rows(_table(), soft, largest=True).sum(1)
    assert torch.allclose(total, (1 - (1 - soft).prod(1, keepdim=True)).expand(B, C))


def test_expected_extremes_gradcheck_and_finite_gradients_at_hard_selectors():
    table = _table().double()
    soft = torch.rand(B, R, dtype=torch.float64, requires_grad=True)
    for largest in (True, False):
        assert torch.autograd.gradcheck(
            lambda r, largest=largest: ops.expected_extreme_rows(table, r, largest), (soft,)
        )
    hard = torch.tensor([[1.0, 0.0, 1.0, 1.0, 0.0]] * B, requires_grad=True)
    # the answer's cell: row 3 (the greatest selected); row 4, unselected, would take it
    ops.expected_extreme_rows(_table(), hard, largest=True)[:, 3].sum().backward()
    assert torch.isfinite(hard.grad).all()
    assert (hard.grad[:, 3] > 0).all() and (hard.grad[:, 4] < 0).all()


def test_expected_extremes_reach_the_matching_rows_of_a_blend_the_threshold_misses():
    # "the greatest a where t is w" with step 2 at 0.6 reset + 0.4 text_match: the rows
    # holding w are 0 and 2; the table's greatest (row 1) does not hold it.
    table = torch.tensor([[[5.0], [9.0], [7.0], [1.0]]])
    matches = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    text_weight = torch.tensor(0.4, requires_grad=True)
    rows = (1 - text_weight) + text_weight * matches
    threshold = ops.extreme_rows(table, rows, largest=True).flatten()
    assert threshold[2] == 0  # the answer's row gets nothing, nor a gradient
    expected = ops.expected_extreme_rows(table, rows, largest=True).flatten()
    assert expected[2] > 0
    (expected[2] - expected[1]).backward()
    assert text_weight.grad > 0  # more text_match: more of the answer, less of the wrong row


def test_expected_extremes_match_their_definition_with_ties_and_rows_selected_outright():
    generator = torch.Generator().manual_seed(1)
    table = torch.randint(-4, 5, (B, 9, C), generator=generator).double()
    rows = torch.rand(B, 9, generator=generator, dtype=torch.float64)
    rows[:, ::3] = 1.0
    for largest in (True, False):
        beyond = table.unsqueeze(1) > table.unsqueeze(2)
        if not largest:
            beyond = table.unsqueeze(1) < table.unsqueeze(2)
        # rs_i · Π_j (1 − [T_j beyond T_i] rs_j), j over the rows (dimension 2)
        definition = rows.unsqueeze(-1) * (1 - beyond.double() * rows[:, None, :, None]).prod(2)
        torch.testing.assert_close(ops.expected_extreme_rows(table, rows, largest), definition)
