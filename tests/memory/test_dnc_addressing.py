"""The DNC's addressing functions: invariants (weightings in [0, 1] summing to at most 1, the link
matrix's zero diagonal), planted scenarios, float64 gradients, and no NaN at the extremes."""

import pytest
import torch

from augrnn.memory import dnc_addressing as D

B, R, N = 3, 2, 7  # a different size per dimension


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


def weighting(*shape, gen, total=0.9):
    """Random non-negative weightings summing to ``total`` over the last axis."""
    return torch.softmax(torch.randn(*shape, generator=gen, dtype=torch.float64), -1) * total


def unit(*shape, gen):
    return torch.rand(*shape, generator=gen, dtype=torch.float64)


def assert_weighting(w):
    assert torch.isfinite(w).all()
    assert (w >= 0).all() and (w <= 1 + 1e-12).all()
    assert (w.sum(-1) <= 1 + 1e-9).all()


def test_usage_and_retention_stay_in_the_unit_interval(gen):
    psi = D.retention(unit(B, R, gen=gen), weighting(B, R, N, gen=gen))
    assert psi.shape == (B, N) and ((psi >= 0) & (psi <= 1)).all()
    usage = D.update_usage(unit(B, N, gen=gen), weighting(B, N, gen=gen), psi)
    assert usage.shape == (B, N) and ((usage >= 0) & (usage <= 1)).all()
    # Nothing freed: usage only grows; everything read and freed: the read slot's usage is 0.
    prev = unit(B, N, gen=gen)
    kept = D.update_usage(prev, weighting(B, N, gen=gen), torch.ones(B, N, dtype=torch.float64))
    assert (kept >= prev - 1e-12).all()
    read = torch.zeros(B, R, N, dtype=torch.float64)
    read[:, 0, 3] = 1.0
    psi = D.retention(torch.ones(B, R, dtype=torch.float64), read)
    freed = D.update_usage(prev, torch.zeros(B, N, dtype=torch.float64), psi)
    assert (freed[:, 3] == 0).all()


def test_allocation_goes_to_the_least_used_slot_and_sums_to_one_minus_the_product(gen):
    usage = unit(B, N, gen=gen)
    a = D.allocation_weights(usage)
    assert a.shape == (B, N)
    assert_weighting(a)
    floored = D.USAGE_EPS + (1 - D.USAGE_EPS) * usage
    torch.testing.assert_close(a.sum(-1), 1 - floored.prod(-1))
    assert torch.equal(a.argmax(-1), usage.argmin(-1))
    # A freed slot among full ones is allocated next, all of it.
    full = torch.ones(B, N, dtype=torch.float64)
    full[:, 5] = 0.0
    torch.testing.assert_close(
        D.allocation_weights(full)[:, 5], torch.full((B,), 1 - 1e-6, dtype=torch.float64)
    )
    assert D.allocation_weights(full)[:, :5].abs().max() < 1e-5


def test_write_weighting_blends_allocation_and_content_under_its_gates(gen):
    a, c = weighting(B, N, gen=gen), weighting(B, N, gen=gen, total=1.0)
    g_a, g_w = unit(B, gen=gen), unit(B, gen=gen)
    w = D.write_weights(a, c, g_a, g_w)
    assert_weighting(w)
    ones, zeros = torch.ones(B, dtype=torch.float64), torch.zeros(B, dtype=torch.float64)
    torch.testing.assert_close(D.write_weights(a, c, ones, ones), a)
    torch.testing.assert_close(D.write_weights(a, c, zeros, ones), c)
    assert (D.write_weights(a, c, g_a, zeros) == 0).all()


def test_precedence_and_link_keep_their_bounds_and_the_link_diagonal_is_zero(gen):
    p, link = torch.zeros(B, N, dtype=torch.float64), torch.zeros(B, N, N, dtype=torch.float64)
    for _ in range(6):
        w = weighting(B, N, gen=gen, total=float(torch.rand(1, generator=gen)))
        link = D.update_link(link, p, w)
        p = D.update_precedence(p, w)
        assert_weighting(p)
        assert link.shape == (B, N, N) and (link >= 0).all() and (link <= 1).all()
        assert (link.diagonal(dim1=-2, dim2=-1) == 0).all()
        assert (link.sum(-1) <= 1 + 1e-9).all() and (link.sum(-2) <= 1 + 1e-9).all()


def test_reading_forward_after_writing_a_sequence_returns_it_in_order():
    """Write slots 4, 1, 6, 2 in that order; from each, the forward weighting points at the next
    and the backward weighting at the one before."""
    order = [4, 1, 6, 2]
    p, link = torch.zeros(1, N), torch.zeros(1, N, N)
    for slot in order:
        w = torch.zeros(1, N)
        w[0, slot] = 1.0
        link = D.update_link(link, p, w)
        p = D.update_precedence(p, w)
    for here, after in zip(order, order[1:], strict=False):
        read = torch.zeros(1, R, N)
        read[0, :, here] = 1.0
        forward, backward = D.directional_weights(link, read)
        assert forward.shape == backward.shape == (1, R, N)
        assert int(forward[0, 0].argmax()) == after and float(forward[0, 0].sum()) == 1.0
        read[0, :, :] = 0.0
        read[0, :, after] = 1.0
        assert int(D.directional_weights(link, read)[1][0, 1].argmax()) == here


def test_read_weighting_follows_its_modes(gen):
    b, c, f = (weighting(B, R, N, gen=gen) for _ in range(3))
    modes = torch.softmax(torch.randn(B, R, 3, generator=gen, dtype=torch.float64), -1)
    assert_weighting(D.read_weights(modes, b, c, f))
    for mode, expected in zip(D.READ_MODES, (b, c, f), strict=True):
        one_hot = torch.zeros(B, R, 3, dtype=torch.float64)
        one_hot[..., D.READ_MODES.index(mode)] = 1.0
        torch.testing.assert_close(D.read_weights(one_hot, b, c, f), expected)


@pytest.mark.parametrize(
    "fn, make",
    [
        (D.retention, lambda g: (unit(B, R, gen=g), weighting(B, R, N, gen=g))),
        (D.update_usage, lambda g: (unit(B, N, gen=g), weighting(B, N, gen=g), unit(B, N, gen=g))),
        (D.allocation_weights, lambda g: (unit(B, N, gen=g) * 0.9 + 0.05,)),
        (
            D.write_weights,
            lambda g: (
                weighting(B, N, gen=g),
                weighting(B, N, gen=g),
                unit(B, gen=g),
                unit(B, gen=g),
            ),
        ),
        (D.update_precedence, lambda g: (weighting(B, N, gen=g), weighting(B, N, gen=g))),
        (
            D.update_link,
            lambda g: (unit(B, N, N, gen=g) / N, weighting(B, N, gen=g), weighting(B, N, gen=g)),
        ),
        (D.directional_weights, lambda g: (unit(B, N, N, gen=g) / N, weighting(B, R, N, gen=g))),
        (
            D.read_weights,
            lambda g: (
                weighting(B, R, 3, gen=g, total=1.0),
                *(weighting(B, R, N, gen=g) for _ in range(3)),
            ),
        ),
    ],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_float64_gradients_match_finite_differences(fn, make, gen):
    inputs = tuple(t.requires_grad_() for t in make(gen))
    assert torch.autograd.gradcheck(fn, inputs)


@pytest.mark.parametrize("usage_value", [0.0, 1.0])
def test_no_nan_at_the_extremes(usage_value):
    """All-zero or all-full usage, one-hot usage, saturated gates: finite values and gradients."""
    for usage in (torch.full((B, N), usage_value), torch.eye(N)[:B].clone()):
        usage.requires_grad_()
        a = D.allocation_weights(usage)
        gates = torch.full((B,), usage_value, requires_grad=True)
        w = D.write_weights(a, torch.full((B, N), 1 / N), gates, gates)
        link = D.update_link(torch.zeros(B, N, N), torch.zeros(B, N), w)
        p = D.update_precedence(torch.zeros(B, N), w)
        (a.sum() + w.sum() + link.sum() + p.sum()).backward()
        assert all(torch.isfinite(t).all() for t in (a, w, link, p, usage.grad, gates.grad))
