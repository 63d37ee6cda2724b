"""The attention modules: shapes, masking, local-p windows, gradients.

Sizes differ per dimension: batch B=3, source positions S=7, query Q=5, keys K=4, values V=2,
attention width A=6 (dot-style scores need Q = K and use Q for both).
"""

import pytest
import torch

from augrnn.attention import AdditiveAttention, LuongAttention, ScaledDotAttention
from augrnn.core import Trace, tracing

B, S, Q, K, V, A = 3, 7, 5, 4, 2, 6
LENGTHS = torch.tensor([7, 4, 1])


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


def ragged_mask():
    return torch.arange(S) < LENGTHS.unsqueeze(1)


def make(kind, key_size=K, local_window=None):
    torch.manual_seed(0)
    if kind == "additive":
        return AdditiveAttention(Q, key_size, A)
    if kind == "scaled":
        return ScaledDotAttention(Q, Q)
    if kind == "scaled_projected":
        return ScaledDotAttention(Q, key_size, attention_size=A)
    score = kind.removeprefix("luong_")
    size = Q if score == "dot" else key_size
    return LuongAttention(Q, size, score, local_window=local_window, attention_size=A)


KINDS = ["additive", "scaled", "scaled_projected", "luong_dot", "luong_general", "luong_concat"]


def inputs(module, gen, scale=1.0):
    query = torch.randn(B, Q, generator=gen) * scale
    keys = torch.randn(B, S, module.key_size, generator=gen) * scale
    return query, keys, torch.randn(B, S, V, generator=gen)


@pytest.mark.parametrize("kind", KINDS)
def test_shapes_and_weights_over_unmasked_positions(kind, gen):
    module = make(kind)
    query, keys, values = inputs(module, gen)
    context, weights = module(query, keys, values, ragged_mask())
    assert context.shape == (B, V) and weights.shape == (B, S)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B))
    assert torch.all(weights[~ragged_mask()] == 0.0) and torch.all(weights >= 0)
    torch.testing.assert_close(context, (weights.unsqueeze(-1) * values).sum(1))
    # a float mask means the same; precomputed keys give the same result
    again, w_float = module(
        query, keys, values, ragged_mask().float(), projected_keys=module.project_keys(keys)
    )
    torch.testing.assert_close(w_float, weights)
    torch.testing.assert_close(again, context)
    # without a mask every position counts
    _, w_all = module(query, keys, values)
    assert torch.all(w_all > 0)


@pytest.mark.parametrize("kind", KINDS)
def test_mismatched_shapes_raise_naming_the_expected_shape(kind, gen):
    module = make(kind)
    query, keys, values = inputs(module, gen)
    with pytest.raises(ValueError, match=r"mask of shape \(batch, source length\) = \(3, 7\)"):
        module(query, keys, values, ragged_mask().T)
    with pytest.raises(ValueError, match=rf"query of shape \(batch, {Q}\)"):
        module(query[:, :-1], keys, values)
    with pytest.raises(ValueError, match=rf"keys of shape \(3, source length, {module.key_size}\)"):
        module(query, keys[:2], values)
    with pytest.raises(ValueError, match=r"values of shape \(3, 7, value size\)"):
        module(query, keys, values[:, :-1])
    empty = ragged_mask()
    empty[1] = False
    with pytest.raises(ValueError, match="every position is masked"):
        module(query, keys, values, empty)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("scale", [0.0, 1e4])
def test_no_nan_with_zero_or_huge_inputs(kind, scale, gen):
    module = make(kind)
    query, keys, values = inputs(module, gen, scale)
    query.requires_grad_()
    keys.requires_grad_()
    context, weights = module(query, keys, values, ragged_mask())
    (context.sum() + (weights * torch.arange(S)).sum()).backward()
    assert torch.isfinite(context).all() and torch.isfinite(weights).all()
    assert torch.isfinite(query.grad).all() and torch.isfinite(keys.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in module.parameters() if p.grad is not None)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B))


@pytest.mark.parametrize("kind", [*KINDS, "luong_local"])
def test_gradcheck_float64(kind, gen):
    module = make("luong_general", local_window=2) if kind == "luong_local" else make(kind)
    module = module.double()
    query, keys, values = (t.double().requires_grad_() for t in inputs(module, gen))

    def run(q, k, v):
        return module(q, k, v, ragged_mask())

    assert torch.autograd.gradcheck(run, (query, keys, values))


@pytest.mark.parametrize("score", ["dot", "general", "concat"])
@pytest.mark.parametrize("window", [1, 2])
def test_local_p_weights_vanish_outside_the_window_around_p(score, window, gen):
    module = make(f"luong_{score}", local_window=window)
    query, keys, values = inputs(module, gen)
    trace = Trace()
    with tracing(trace):
        _, weights = module(query, keys, values, ragged_mask())
    centre = module.aligned_position(query, LENGTHS)
    torch.testing.assert_close(trace.steps[0]["attention_position"], centre.detach())
    assert torch.all((centre > 0) & (centre < LENGTHS))  # p_t = S·σ(·), S the own length
    outside = (torch.arange(S) - centre.unsqueeze(1)).abs() > window
    assert torch.all(weights[outside | ~ragged_mask()] == 0.0)
    assert torch.all(weights.sum(-1) <= 1.0 + 1e-6) and torch.all(weights.sum(-1) > 0)


def test_luong_and_scaled_dot_reject_bad_settings():
    with pytest.raises(ValueError, match="score must be one of"):
        LuongAttention(Q, K, "cosine")
    with pytest.raises(ValueError, match="dot attention needs query_size == key_size"):
        LuongAttention(Q, K, "dot")
    with pytest.raises(ValueError, match="local_window must be a positive integer"):
        LuongAttention(Q, K, "general", local_window=0)
    with pytest.raises(ValueError, match="needs query_size == key_size"):
        ScaledDotAttention(Q, K)
    with pytest.raises(ValueError, match="positive query_size and key_size"):
        AdditiveAttention(0, K)


def test_scaled_dot_scores_scale_with_the_width(gen):
    module = ScaledDotAttention(Q, Q)
    query, keys, values = inputs(module, gen)
    _, weights = module(query, keys, values)
    expected = torch.softmax(torch.einsum("bd,bsd->bs", query, keys) / Q**0.5, -1)
    torch.testing.assert_close(weights, expected)
    assert list(module.parameters()) == []
