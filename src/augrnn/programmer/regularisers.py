"""The Neural Programmer's additions that are not in the paper, with what each is for.

Neelakantan, Le & Sutskever (2015) train the selector with the soft program's answer loss alone
(Huber on scalars, λ-weighted log loss on lookups) and Adam with decaying gradient noise
(:mod:`augrnn.gradient_noise`). The ``table_qa_paper`` preset sets none of the additions
below; each other table preset says which it sets, and RESULTS.md measures what each buys.
Every one is an option of
:class:`~augrnn.programmer.NeuralProgrammerConfig`, off by default:

``selection_entropy`` β, ``selection_penalty``, ``selection_loss_cap``
    The selections saturate within the first few hundred steps, and a question type whose
    program is wrong by then stays wrong, because a saturated softmax passes almost no
    gradient. Each episode's loss ℓ becomes ℓ − β · ℓ̄ · H̄ (``"entropy"``: ℓ̄ is ℓ held
    constant, H̄ :func:`mean_selection_entropy`), which keeps the selections of wrongly
    answered episodes soft and leaves right ones free to settle; or ℓ + β · ℓ̄ · K̄
    (``"uniform_kl"``: K̄ :func:`mean_selection_uniform_kl`), whose gradient survives a
    saturated softmax, so a selection saturated on a wrong choice can come back. The cap bounds
    ℓ̄ in that weight, so the question types with the largest losses do not outweigh the rest
    (:func:`penalised_losses`).

``and_product``
    ``and`` as the product of the two row selectors instead of their minimum
    (:func:`product_and`): the same on 0/1 selectors, but its gradient reaches both, and the
    product of two identical soft selectors is smaller than either, so a blend of operations at
    the steps before it does not already give what ``and`` gives.

``expected_extremes``
    The soft ``max`` and ``min`` mark each row with the chance that it holds the extreme of a
    selection drawn row by row from the soft row selector (:func:`expected_extreme_rows`)
    instead of the extreme among the rows weighted above ½. With the latter, "the greatest a
    where t is w" under a blend of ``reset`` and ``text_match`` marks the table's greatest row
    as long as ``reset`` weighs more than ½, and the loss then pushes ``max`` away rather than
    towards the matching rows.

``operation_noise`` σ
    N(0, σ²) added in training to the operation selector's scores, independently at every step
    of every episode (:func:`noisy_scores`). Two steps at the same blend of operations
    (``greater`` and ``lesser`` alike at both steps before an ``and``) are a saddle of the soft
    program's loss, flat to first order in the direction that would give each step its own
    operation; the noise moves them apart at random, and the loss pulls them the rest of the
    way. Evaluation and hard programs add none.

``program_search`` λ, ``program_search_episodes``
    λ times the mean, over the first episodes of a batch, of −log P(answer): the probability
    that a hard program drawn step by step from the selector answers right, summed over every
    program by executing them all (:func:`program_search_loss`, :mod:`augrnn.programmer.search`).
    The soft program's loss reaches a step only through the weights of the steps after it, so a
    program whose last operation pays only once the steps before it are right (``sum(a) ->
    greater(b) -> sum(b) -> difference``) gets no gradient while the last step weighs
    ``difference`` little; −log P(answer) raises each step of the right programs directly. It
    needs only the answer.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor

from augrnn.programmer.search import answer_log_likelihood, lookup_log_likelihood

#: What ``selection_entropy`` β weighs: the selections' entropy, or their KL from uniform.
SELECTION_PENALTIES = ("entropy", "uniform_kl")


# --- selection entropy and KL from uniform ----------------------------------------------------


def _mean_over_selectors(alphas: tuple[Tensor, ...], measure) -> Tensor:
    """(B,): ``measure(alpha, available, choices)`` of each selector ``alpha`` (T, B, n_i),
    averaged over the selectors with at least two choices (0 where none has). ``available``
    (B, n_i) marks the choices an episode may make (α > 0 at some step), ``choices`` (B,)
    counts them; ``measure`` returns a (B,) value."""
    values, counts = [], []
    for alpha in alphas:
        available = (alpha > 0).any(0)
        choices = available.sum(-1).to(alpha.dtype)
        has_choice = choices >= 2
        values.append(torch.where(has_choice, measure(alpha, available, choices), 0.0))
        counts.append(has_choice.to(alpha.dtype))
    return torch.stack(values).sum(0) / torch.stack(counts).sum(0).clamp_min(1)


def mean_selection_entropy(*alphas: Tensor) -> Tensor:
    """H̄ (B,): the mean normalised entropy of the selections that have a choice.

    Each of ``alphas`` (T, B, n_i) is one selector's weights at every step (α_op, α_col). Its
    entropy is divided by the log of the number of choices an episode may make (those with
    α > 0 at some step) and averaged over the T steps, giving a value in [0, 1]; H̄ averages
    that over the selectors with at least two choices (a one-column table's α_col has none).
    """

    def normalised_entropy(alpha: Tensor, available: Tensor, choices: Tensor) -> Tensor:
        # The clamp keeps the gradient finite at masked choices' α = 0, where d(α log α)/dα = −∞.
        entropy = -(alpha * alpha.clamp_min(1e-30).log()).sum(-1).mean(0)
        return entropy / choices.clamp_min(2).log()

    return _mean_over_selectors(alphas, normalised_entropy)


def mean_selection_uniform_kl(*alphas: Tensor) -> Tensor:
    """K̄ (B,): the mean normalised KL(u ‖ α) = −1 − (1/n) Σ_i log α_i / log n from the uniform
    choice u over an episode's n available choices (those with α > 0 at some step) to each
    selection, over the T steps and the selectors with at least two choices; each ``alphas`` is
    (T, B, n_i). 0 when every selection is uniform, and unbounded as one saturates: its
    gradient with respect to a step's scores is (α − u) / (T log n), which does not vanish when
    the softmax saturates, as the entropy's does. α is clamped at 10⁻³⁰ inside the log, so
    that choices whose α underflows to 0 at every step count as unavailable, and the rest
    keep a finite log."""

    def normalised_kl(alpha: Tensor, available: Tensor, choices: Tensor) -> Tensor:
        logs = torch.where(available.unsqueeze(0), alpha.clamp_min(1e-30).log(), 0.0)
        mean_log = logs.sum(-1).mean(0) / choices.clamp_min(1)
        return -(1 + mean_log / choices.clamp_min(2).log())

    return _mean_over_selectors(alphas, normalised_kl)


def penalised_losses(
    losses: Tensor,
    alpha_op: Tensor,
    alpha_col: Tensor,
    beta: float,
    penalty: str = "entropy",
    cap: float | None = None,
) -> Tensor:
    """Each episode's loss ℓ (B,) with the selection penalty: ℓ − β · w · H̄ (``"entropy"``)
    or ℓ + β · w · K̄ (``"uniform_kl"``), w = ℓ held constant and at most ``cap``; α_op
    (T, B, O) and α_col (T, B, C) are the soft selections. An episode answered right (ℓ = 0)
    gets no push, so a right program is still the optimum (with the entropy, as β < 1, the
    total stays ≥ (1 − β) ℓ ≥ 0); a wrong one is pushed towards soft selections in proportion to
    its loss."""
    weight = losses.detach()
    if cap is not None:
        weight = weight.clamp_max(cap)
    if penalty == "uniform_kl":
        return losses + beta * weight * mean_selection_uniform_kl(alpha_op, alpha_col)
    return losses - beta * weight * mean_selection_entropy(alpha_op, alpha_col)


# --- and as a product ---------------------------------------------------------------------------


def product_and(first: Tensor, second: Tensor) -> Tensor:
    """Soft and of two row selectors as their product (the paper's is their minimum; the same
    on 0/1 selectors): (B, R), (B, R) -> (B, R)."""
    return first * second


# --- expected extremes --------------------------------------------------------------------------


class ExtremeOrder(NamedTuple):
    """A table's rows in the order :func:`expected_extreme_rows` reads them, per column:
    ``order`` (B, R, C), the row indices from the column's greatest (or least) entry on;
    ``tie_start`` (B, R, C), for each position of that order, the first position holding the
    same entry."""

    order: Tensor
    tie_start: Tensor


def extreme_orders(table: Tensor) -> tuple[ExtremeOrder, ExtremeOrder]:
    """The :class:`ExtremeOrder` of ``table`` (B, R, C) from its greatest entries and from its
    least, from one sort. They depend on the table alone, so a program computes them once for
    all its steps."""
    values, ascending = torch.sort(table, dim=1)
    positions = torch.arange(table.shape[1], device=table.device).view(1, -1, 1)

    def from_order(values: Tensor, order: Tensor) -> ExtremeOrder:
        starts_tie = torch.ones_like(values, dtype=torch.bool)
        starts_tie[:, 1:] = values[:, 1:] != values[:, :-1]
        return ExtremeOrder(order, torch.where(starts_tie, positions, 0).cummax(1).values)

    return from_order(values.flip(1), ascending.flip(1)), from_order(values, ascending)


def expected_extreme_rows(
    table: Tensor, row_select: Tensor, largest: bool, order: ExtremeOrder | None = None
) -> Tensor:
    """Per column, the chance that a row holds the greatest (``largest``) or least entry of a
    selection that takes each row i with probability row_select[i], independently:
    rs_i · Π_{j: T_j beyond T_i} (1 − rs_j). (B, R, C), (B, R) -> (B, R, C); ``order``:
    the table's order in the same direction (:func:`extreme_orders`), if already computed.

    On 0/1 selectors it is :func:`extreme_rows` (1 on every tie among the selected rows). On
    soft ones every row with some weight competes, so the right extreme gets a gradient before
    its rows weigh more than ½, where :func:`extreme_rows` only sees the rows above ½. A row
    selected outright (rs = 1 exactly) passes no gradient through the rows it hides."""
    if order is None:
        order = extreme_orders(table)[0 if largest else 1]
    ordered = row_select.unsqueeze(-1).expand(table.shape).gather(1, order.order)
    # Π (1 − rs) over the positions before each one, then over those before its tie group. A
    # zero factor (a row selected outright, rs = 1) is left out of the product and zeroes what
    # follows by a mask, so it passes no gradient to those rows: cumprod's backward pass over
    # zeros takes a path some fifty times slower.
    unselected = 1 - ordered
    selected = unselected == 0
    kept = torch.cumprod(unselected.masked_fill(selected, 1.0), 1) * (selected.cumsum(1) == 0)
    before = torch.cat([torch.ones_like(kept[:, :1]), kept[:, :-1]], 1)
    chance = ordered * before.gather(1, order.tie_start)
    return torch.zeros_like(chance).scatter(1, order.order, chance)


class ExpectedExtremes:
    """:func:`expected_extreme_rows` as :func:`~augrnn.table_operations.program_step` calls the
    soft ``max`` / ``min`` (``(table, row_select, largest)``), with the table's orders computed
    once for all the steps of a program."""

    def __init__(self, table: Tensor):
        self.orders = extreme_orders(table)

    def __call__(self, table: Tensor, row_select: Tensor, largest: bool) -> Tensor:
        return expected_extreme_rows(table, row_select, largest, self.orders[0 if largest else 1])


# --- operation noise ---------------------------------------------------------------------------


def noisy_scores(scores: Tensor, sigma: float) -> Tensor:
    """``scores`` plus independent N(0, σ²) noise on every entry."""
    return scores + sigma * torch.randn_like(scores)


# --- program search ----------------------------------------------------------------------------


def program_search_loss(info: dict[str, Any], batch: Any, episodes: int) -> Tensor:
    """The mean of −log P(answer) over the first ``episodes`` episodes of ``batch`` (a table
    question's batch) that some program answers (scalar answers:
    :func:`~augrnn.programmer.search.answer_log_likelihood`; lookups:
    :func:`~augrnn.programmer.search.lookup_log_likelihood`); 0 when none does. ``info`` is
    :meth:`NeuralProgrammer.forward`'s, run with program search on (the selections' logs)."""
    chosen = torch.arange(min(episodes, batch.is_lookup.shape[0]))
    chosen = chosen.to(batch.is_lookup.device)
    lookup = batch.is_lookup[chosen] > 0.5
    found, matches = [], info["matches"]
    for chosen_episodes, search, answers in (
        (chosen[~lookup], answer_log_likelihood, batch.answer_scalar),
        (chosen[lookup], lookup_log_likelihood, batch.answer_lookup),
    ):
        log_likelihood = search(
            info["log_alpha_op"][:, chosen_episodes],
            info["log_alpha_col"][:, chosen_episodes],
            batch.table[chosen_episodes],
            batch.row_mask[chosen_episodes],
            info["pivots"][chosen_episodes].detach(),
            answers[chosen_episodes],
            None if matches is None else matches[chosen_episodes],
        )
        found.append(log_likelihood[torch.isfinite(log_likelihood)])
    log_likelihoods = torch.cat(found)
    return -log_likelihoods.sum() / max(len(log_likelihoods), 1)
