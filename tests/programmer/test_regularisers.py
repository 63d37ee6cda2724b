"""The Neural Programmer's additions that are not in the paper, as pure functions: the selection
penalties, ``and`` as a product and the expected extremes (each against its definition and its
gradients; the model's use of them is tested with the model)."""

import math

import pytest
import torch

from augrnn.programmer.regularisers import (
    ExpectedExtremes,
    expected_extreme_rows,
    extreme_orders,
    mean_selection_entropy,
    mean_selection_uniform_kl,
    penalised_losses,
    product_and,
)
from augrnn.table_operations import extreme_rows, logical_and

B, R, C = 2, 5, 3


def _table() -> torch.Tensor:
    return torch.arange(B * R * C, dtype=torch.float32).reshape(B, R, C) - 10.0


def test_expected_extremes_computes_the_tables_orders_once_for_every_step():
    generator = torch.Generator().manual_seed(2)
    table = torch.randint(-3, 4, (B, 6, C), generator=generator).float()
    rows = torch.rand(B, 6, generator=generator)
    extremes = ExpectedExtremes(table)
    for largest in (True, False):
        assert torch.equal(
            extremes(table, rows, largest), expected_extreme_rows(table, rows, largest)
        )


def test_penalised_losses_leave_right_answers_alone_and_cap_the_weight():
    losses = torch.tensor([0.0, 4.0, 400.0])
    alpha = torch.softmax(torch.randn(2, 3, 5, generator=torch.Generator().manual_seed(0)), -1)
    entropy = mean_selection_entropy(alpha, alpha)
    penalised = penalised_losses(losses, alpha, alpha, 0.5, "entropy", cap=100.0)
    torch.testing.assert_close(penalised, losses - 0.5 * losses.clamp_max(100.0) * entropy)
    assert penalised[0] == 0.0
    kl = penalised_losses(losses, alpha, alpha, 0.5, "uniform_kl")
    torch.testing.assert_close(kl, losses + 0.5 * losses * mean_selection_uniform_kl(alpha, alpha))


def test_selection_entropy_is_one_when_uniform_over_the_available_choices_and_zero_when_sure():
    steps, batch, ops, columns = 3, 4, 7, 5
    uniform_ops = torch.full((steps, batch, ops), 1 / ops)
    uniform_columns = torch.full((steps, batch, columns), 1 / columns)
    assert torch.allclose(mean_selection_entropy(uniform_ops), torch.ones(batch))
    assert torch.allclose(mean_selection_entropy(uniform_ops, uniform_columns), torch.ones(batch))
    sure = torch.nn.functional.one_hot(torch.randint(ops, (steps, batch)), ops).float()
    assert torch.equal(mean_selection_entropy(sure), torch.zeros(batch))
    # Sure operations, uniform columns: the mean of 0 and 1.
    assert torch.allclose(mean_selection_entropy(sure, uniform_columns), torch.full((batch,), 0.5))
    # A choice masked out everywhere (α = 0) does not count: uniform over the other 6 is 1.
    masked = torch.cat(
        [torch.full((steps, batch, ops - 1), 1 / (ops - 1)), torch.zeros(steps, batch, 1)], -1
    )
    assert torch.allclose(mean_selection_entropy(masked), torch.ones(batch))
    # One column is no choice: it leaves the operations' entropy as it is.
    one_column = torch.ones(steps, batch, 1)
    mixed = torch.softmax(torch.randn(steps, batch, ops, dtype=torch.float64), -1)
    assert torch.equal(mean_selection_entropy(mixed, one_column), mean_selection_entropy(mixed))
    assert ((mean_selection_entropy(mixed) > 0) & (mean_selection_entropy(mixed) < 1)).all()


@pytest.mark.parametrize("penalty", [mean_selection_entropy, mean_selection_uniform_kl])
def test_selection_penalty_gradients_match_finite_differences_and_stay_finite_when_saturated(
    penalty,
):
    logits = torch.randn(3, 4, 6, dtype=torch.float64, requires_grad=True)
    column_logits = torch.randn(3, 4, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, c: penalty(torch.softmax(a, -1), torch.softmax(c, -1)),
        (logits, column_logits),
    )
    # Logits far apart: most α underflow to exactly 0; the gradient stays finite.
    extreme = (torch.randn(3, 4, 6) * 1e4).requires_grad_()
    value = penalty(torch.softmax(extreme, -1))
    value.sum().backward()
    assert torch.isfinite(value).all() and torch.isfinite(extreme.grad).all()


def test_uniform_kl_is_zero_when_uniform_and_grows_as_the_selections_saturate():
    steps, batch, ops, columns = 3, 4, 7, 5
    uniform_ops = torch.full((steps, batch, ops), 1 / ops)
    uniform_columns = torch.full((steps, batch, columns), 1 / columns)
    assert torch.allclose(
        mean_selection_uniform_kl(uniform_ops, uniform_columns), torch.zeros(batch), atol=1e-6
    )
    scores = torch.randn(steps, batch, ops, dtype=torch.float64)
    kls = [mean_selection_uniform_kl(torch.softmax(scores * scale, -1)) for scale in (1, 4, 16)]
    assert (kls[0] > 0).all() and (kls[1] > kls[0]).all() and (kls[2] > kls[1]).all()
    # KL(u ‖ α) = −log n − mean log α, over log n: checked on one selection by hand.
    alpha = torch.tensor([[[0.5, 0.25, 0.25]]], dtype=torch.float64)
    expected = (-math.log(3) - (math.log(0.5) + 2 * math.log(0.25)) / 3) / math.log(3)
    assert mean_selection_uniform_kl(alpha).item() == pytest.approx(expected)
    # A choice masked out everywhere (α = 0) does not count, nor does a single column.
    masked = torch.cat(
        [torch.full((steps, batch, ops - 1), 1 / (ops - 1)), torch.zeros(steps, batch, 1)], -1
    )
    assert torch.allclose(mean_selection_uniform_kl(masked), torch.zeros(batch), atol=1e-6)
    one_column = torch.ones(steps, batch, 1)
    mixed = torch.softmax(scores, -1)
    assert torch.equal(
        mean_selection_uniform_kl(mixed, one_column), mean_selection_uniform_kl(mixed)
    )


def test_uniform_kl_keeps_its_gradient_where_the_entropys_vanishes():
    # One step, one selection saturated on its first choice (α ≈ 1 − 5e-13).
    saturated = torch.tensor([[[30.0, 0, 0, 0, 0, 0]]], dtype=torch.float64, requires_grad=True)
    (kl_grad,) = torch.autograd.grad(
        mean_selection_uniform_kl(torch.softmax(saturated, -1)).sum(), saturated
    )
    (entropy_grad,) = torch.autograd.grad(
        mean_selection_entropy(torch.softmax(saturated, -1)).sum(), saturated
    )
    # (α − u) / log n: about (1 − 1/6) / log 6 on the saturated score, where the entropy's is
    # about 1e-11.
    assert kl_grad[0, 0, 0].item() == pytest.approx((1 - 1 / 6) / math.log(6), rel=1e-6)
    assert entropy_grad.abs().max() < 1e-9


def test_the_product_and_is_the_minimum_on_hard_selectors_and_passes_both_a_gradient():
    hard_a, hard_b = torch.tensor([[1.0, 1.0, 0.0, 0.0]]), torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    assert torch.equal(product_and(hard_a, hard_b), logical_and(hard_a, hard_b))
    a = torch.tensor([[0.3, 0.8]], requires_grad=True)
    b = torch.tensor([[0.6, 0.5]], requires_grad=True)
    product_and(a, b).sum().backward()
    assert torch.allclose(a.grad, b.detach()) and torch.allclose(b.grad, a.detach())
    a.grad = b.grad = None
    logical_and(a, b).sum().backward()
    # the minimum passes each entry's gradient to one selector only
    assert torch.equal(a.grad + b.grad, torch.ones(1, 2)) and (a.grad * b.grad == 0).all()


def test_expected_extremes_equal_the_extremes_on_hard_selectors_ties_included():
    generator = torch.Generator().manual_seed(0)
    table = torch.randint(-3, 4, (B, 7, C), generator=generator).float()  # many ties
    rows = (torch.rand(B, 7, generator=generator) > 0.4).float()
    orders = extreme_orders(table)
    for largest, order in zip((True, False), orders, strict=True):
        expected = expected_extreme_rows(table, rows, largest)
        assert torch.equal(expected, extreme_rows(table, rows, largest))
        assert torch.equal(expected, expected_extreme_rows(table, rows, largest, order))


def test_expected_extremes_are_the_chance_of_holding_the_extreme_of_a_drawn_selection():
    table = torch.tensor([[[4.0], [9.0], [1.0]]])
    rows = torch.tensor([[0.5, 0.25, 1.0]])
    greatest = expected_extreme_rows(table, rows, largest=True).flatten()
    # 9 when drawn; else 4 when drawn; else 1 (always drawn)
    assert torch.allclose(greatest, torch.tensor([0.5 * 0.75, 0.25, 1.0 * 0.5 * 0.75]))
    least = expected_extreme_rows(table, rows, largest=False).flatten()
    assert torch.allclose(least, torch.tensor([0.0, 0.0, 1.0]))
    # with distinct entries some row holds the extreme unless no row is drawn
    soft = torch.rand(B, R)
    total = expected_extreme_rows(_table(), soft, largest=True).sum(1)
    assert torch.allclose(total, (1 - (1 - soft).prod(1, keepdim=True)).expand(B, C))


def test_expected_extremes_gradcheck_and_finite_gradients_at_hard_selectors():
    table = _table().double()
    soft = torch.rand(B, R, dtype=torch.float64, requires_grad=True)
    for largest in (True, False):
        assert torch.autograd.gradcheck(
            lambda r, largest=largest: expected_extreme_rows(table, r, largest), (soft,)
        )
    hard = torch.tensor([[1.0, 0.0, 1.0, 1.0, 0.0]] * B, requires_grad=True)
    # the answer's cell: row 3 (the greatest selected); row 4, unselected, would take it
    expected_extreme_rows(_table(), hard, largest=True)[:, 3].sum().backward()
    assert torch.isfinite(hard.grad).all()
    assert (hard.grad[:, 3] > 0).all() and (hard.grad[:, 4] < 0).all()


def test_expected_extremes_reach_the_matching_rows_of_a_blend_the_threshold_misses():
    # "the greatest a where t is w" with step 2 at 0.6 reset + 0.4 text_match: the rows
    # holding w are 0 and 2; the table's greatest (row 1) does not hold it.
    table = torch.tensor([[[5.0], [9.0], [7.0], [1.0]]])
    matches = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    text_weight = torch.tensor(0.4, requires_grad=True)
    rows = (1 - text_weight) + text_weight * matches
    threshold = extreme_rows(table, rows, largest=True).flatten()
    assert threshold[2] == 0  # the answer's row gets nothing, nor a gradient
    expected = expected_extreme_rows(table, rows, largest=True).flatten()
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
        torch.testing.assert_close(expected_extreme_rows(table, rows, largest), definition)
