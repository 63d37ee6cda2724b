"""Invariants of the addressing maths (NTM eqs 2-9).

Every dimension gets its own size (B=3, H=2, N=7, M=5, S=3 or 5) so that a transposed axis fails.
"""

import math

import pytest
import torch

from augrnn import addressing as A

B, H, N, M = 3, 2, 7, 5


def distribution(*shape, generator=None):
    return torch.softmax(torch.randn(*shape, generator=generator), dim=-1)


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


def assert_distribution(w, shape):
    assert w.shape == shape
    assert torch.all(w >= 0)
    torch.testing.assert_close(w.sum(-1), torch.ones(shape[:-1], dtype=w.dtype))


def test_cosine_similarity_matches_definition(gen):
    keys, memory = torch.randn(B, H, M, generator=gen), torch.randn(B, N, M, generator=gen)
    sim = A.cosine_similarity(keys, memory)
    assert sim.shape == (B, H, N)
    expected = torch.nn.functional.cosine_similarity(keys.unsqueeze(2), memory.unsqueeze(1), dim=-1)
    torch.testing.assert_close(sim, expected)


def test_content_weights_are_distributions_that_favour_the_matching_row(gen):
    memory = torch.randn(B, N, M, generator=gen)
    keys = memory[:, [4, 1]] * 3.0  # head 0 looks for row 4, head 1 for row 1 (scale is ignored)
    w = A.content_weights(keys, memory, torch.full((B, H), 50.0))
    assert_distribution(w, (B, H, N))
    assert torch.all(w[:, 0].argmax(-1) == 4)
    assert torch.all(w[:, 1].argmax(-1) == 1)


def test_zero_strength_gives_uniform_weights(gen):
    w = A.content_weights(
        torch.randn(B, H, M, generator=gen), torch.randn(B, N, M, generator=gen), torch.zeros(B, H)
    )
    torch.testing.assert_close(w, torch.full((B, H, N), 1.0 / N))


def test_dot_similarity_and_unknown_similarity(gen):
    keys, memory = torch.randn(B, H, M, generator=gen), torch.randn(B, N, M, generator=gen)
    w = A.content_weights(keys, memory, torch.ones(B, H), similarity="dot")
    torch.testing.assert_close(w, torch.softmax(torch.einsum("bhm,bnm->bhn", keys, memory), -1))
    with pytest.raises(ValueError, match="similarity must be one of"):
        A.content_weights(keys, memory, torch.ones(B, H), similarity="euclid")


def test_interpolate_endpoints_and_mixture(gen):
    w_c, w_prev = distribution(B, H, N, generator=gen), distribution(B, H, N, generator=gen)
    torch.testing.assert_close(A.interpolate(w_c, w_prev, torch.ones(B, H)), w_c)
    torch.testing.assert_close(A.interpolate(w_c, w_prev, torch.zeros(B, H)), w_prev)
    mixed = A.interpolate(w_c, w_prev, torch.full((B, H), 0.25))
    torch.testing.assert_close(mixed, 0.25 * w_c + 0.75 * w_prev)
    assert_distribution(mixed, (B, H, N))


@pytest.mark.parametrize("width", [3, 5])
def test_shifting_a_one_hot_moves_it(width):
    w = torch.zeros(B, H, N)
    w[:, :, 2] = 1.0
    for offset in A.shift_offsets(width):
        shift = torch.zeros(B, H, width)
        shift[..., offset + width // 2] = 1.0
        moved = A.circular_shift(w, shift)
        expected = torch.zeros(B, H, N)
        expected[:, :, (2 + offset) % N] = 1.0
        torch.testing.assert_close(moved, expected)


def test_shift_wraps_around_and_is_vectorised_over_the_batch():
    w = torch.zeros(B, H, N)
    w[:, :, N - 1] = 1.0
    shift = torch.zeros(B, H, 3)
    shift[0, :, 2] = 1.0  # batch 0: +1 wraps to slot 0
    shift[1, :, 0] = 1.0  # batch 1: −1
    shift[2, :, 1] = 1.0  # batch 2: stay
    moved = A.circular_shift(w, shift)
    assert torch.all(moved[0, :, 0] == 1.0)
    assert torch.all(moved[1, :, N - 2] == 1.0)
    assert torch.all(moved[2, :, N - 1] == 1.0)


def test_shift_keeps_distributions_and_matches_the_sum_definition(gen):
    w, s = distribution(B, H, N, generator=gen), distribution(B, H, 5, generator=gen)
    shifted = A.circular_shift(w, s)
    assert_distribution(shifted, (B, H, N))
    expected = torch.zeros(B, H, N)
    for i in range(N):
        for j in range(N):
            offset = (i - j) % N
            offset = offset - N if offset > N // 2 else offset
            if -2 <= offset <= 2:
                expected[..., i] += w[..., j] * s[..., offset + 2]
    torch.testing.assert_close(shifted, expected)


@pytest.mark.parametrize("slots", [1, 2, 3])
def test_shift_wider_than_the_memory_wraps_every_offset(gen, slots):
    width = 7  # offsets −3 … 3, each wrapping around N more than once
    w, s = distribution(B, H, slots, generator=gen), distribution(B, H, width, generator=gen)
    expected = torch.zeros(B, H, slots)
    for k, offset in enumerate(A.shift_offsets(width)):
        expected += s[..., k : k + 1] * torch.roll(w, offset, dims=-1)
    torch.testing.assert_close(A.circular_shift(w, s), expected)


@pytest.mark.parametrize("width", [0, 2, -1])
def test_shift_width_must_be_positive_and_odd(width):
    with pytest.raises(ValueError, match="positive odd"):
        A.shift_offsets(width)


def test_sharpen_gamma_one_is_identity_and_gamma_sharpens(gen):
    w = distribution(B, H, N, generator=gen)
    torch.testing.assert_close(A.sharpen(w, torch.ones(B, H)), w)
    sharp = A.sharpen(w, torch.full((B, H), 3.0))
    assert_distribution(sharp, (B, H, N))
    assert torch.all(sharp.max(-1).values >= w.max(-1).values)
    torch.testing.assert_close(sharp, w**3 / (w**3).sum(-1, keepdim=True))


def test_read_is_a_weighted_sum_of_rows(gen):
    memory = torch.randn(B, N, M, generator=gen)
    one_hot = torch.zeros(B, H, N)
    one_hot[:, 0, 3] = 1.0
    one_hot[:, 1, 6] = 1.0
    r = A.read(memory, one_hot)
    assert r.shape == (B, H, M)
    torch.testing.assert_close(r[:, 0], memory[:, 3])
    torch.testing.assert_close(r[:, 1], memory[:, 6])


def test_erase_and_write_single_head_on_a_one_hot_slot(gen):
    memory = torch.randn(B, N, M, generator=gen)
    w = torch.zeros(B, 1, N)
    w[:, 0, 5] = 1.0
    erase, add = torch.ones(B, 1, M), torch.randn(B, 1, M, generator=gen)
    new = A.erase_and_write(memory, w, erase, add)
    torch.testing.assert_close(new[:, 5], add[:, 0])
    untouched = [i for i in range(N) if i != 5]
    torch.testing.assert_close(new[:, untouched], memory[:, untouched])


def test_erase_and_write_multi_head_matches_equations(gen):
    memory = torch.randn(B, N, M, generator=gen)
    w = distribution(B, H, N, generator=gen)
    erase = torch.rand(B, H, M, generator=gen)
    add = torch.randn(B, H, M, generator=gen)
    erased = memory.clone()
    for h in range(H):
        erased = erased * (1 - w[:, h, :, None] * erase[:, h, None, :])
    expected = erased + sum(w[:, h, :, None] * add[:, h, None, :] for h in range(H))
    torch.testing.assert_close(A.erase_and_write(memory, w, erase, add), expected)
    # the single-head fast path agrees with the general formula
    single = A.erase_and_write(memory, w[:, :1], erase[:, :1], add[:, :1])
    expected_single = memory * (1 - w[:, 0, :, None] * erase[:, 0, None, :]) + (
        w[:, 0, :, None] * add[:, 0, None, :]
    )
    torch.testing.assert_close(single, expected_single)


def _pipeline(keys, strengths, gate, shift, gamma, memory, prev):
    w, _ = A.address(keys, strengths, gate, shift, gamma, memory, prev)
    return w


def _pipeline_arguments(gen) -> tuple[torch.Tensor, ...]:
    """float64 keys, β, g, shift, γ, memory and previous weights for :func:`A.address`."""
    d = torch.float64
    return (
        torch.randn(B, H, M, dtype=d, generator=gen),
        torch.rand(B, H, dtype=d, generator=gen) * 5,
        torch.rand(B, H, dtype=d, generator=gen),
        distribution(B, H, 3, generator=gen).to(d),
        1 + torch.rand(B, H, dtype=d, generator=gen) * 3,
        torch.randn(B, N, M, dtype=d, generator=gen),
        distribution(B, H, N, generator=gen).to(d),
    )


def test_address_pipeline_gradcheck_float64(gen):
    args = _pipeline_arguments(gen)
    args = tuple(a.requires_grad_() for a in args)
    assert torch.autograd.gradcheck(_pipeline, args)


def _autograd_content_weights(keys, memory, strengths):
    return torch.softmax(strengths.unsqueeze(-1) * A.cosine_similarity(keys, memory), dim=-1)


def test_hand_written_content_backward_matches_autograd_float64(gen):
    d = torch.float64
    keys = torch.randn(B, H, M, dtype=d, generator=gen)
    memory = torch.randn(B, N, M, dtype=d, generator=gen)
    strengths = 10 * torch.rand(B, H, dtype=d, generator=gen)
    assert torch.autograd.gradcheck(
        A.CosineContentWeights.apply, tuple(t.requires_grad_() for t in (keys, memory, strengths))
    )
    # A zero key and a zero row, where finite differences cannot follow the norms' ε.
    keys, memory, strengths = (t.detach().clone() for t in (keys, memory, strengths))
    keys[0, 1] = 0.0
    memory[1, 3] = 0.0
    inputs = [t.requires_grad_() for t in (keys, memory, strengths)]
    upstream = torch.randn(B, H, N, dtype=d, generator=gen)
    w = A.content_weights(*inputs)
    expected_w = _autograd_content_weights(*inputs)
    torch.testing.assert_close(w, expected_w, rtol=0, atol=1e-15)
    got = torch.autograd.grad(w, inputs, upstream)
    expected = torch.autograd.grad(expected_w, inputs, upstream)
    for g, e in zip(got, expected, strict=True):
        assert torch.isfinite(g).all()
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)


def test_hand_written_content_backward_refuses_second_derivatives(gen):
    keys = torch.randn(B, H, M, generator=gen, requires_grad=True)
    memory = torch.randn(B, N, M, generator=gen)
    w = A.content_weights(keys, memory, torch.ones(B, H))
    (grad_keys,) = torch.autograd.grad(w.square().sum(), keys, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        grad_keys.sum().backward()


def _location_arguments(gen, shift_width=5):
    d = torch.float64
    return (
        distribution(B, H, N, generator=gen).to(d),
        distribution(B, H, N, generator=gen).to(d),
        torch.rand(B, H, dtype=d, generator=gen),
        distribution(B, H, shift_width, generator=gen).to(d),
        1 + 3 * torch.rand(B, H, dtype=d, generator=gen),
    )


def _autograd_location(content_w, prev_w, gate, shift, gamma):
    gated = A.interpolate(content_w, prev_w, gate)
    shifted = A.circular_shift(gated, shift)
    return A.sharpen(shifted, gamma), gated, shifted


@pytest.mark.parametrize("shift_width", [1, 3, 5])
def test_hand_written_location_backward_matches_autograd_float64(gen, shift_width):
    args = tuple(a.requires_grad_() for a in _location_arguments(gen, shift_width))
    assert torch.autograd.gradcheck(lambda *a: A.LocationAddressing.apply(*a)[0], args)
    got = A.LocationAddressing.apply(*args)
    expected = _autograd_location(*args)
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=0, atol=1e-15)
    assert not got[1].requires_grad and not got[2].requires_grad


def test_hand_written_location_backward_matches_autograd_where_weights_are_zero(gen):
    """A one-hot focus kept by g = 0 and an unshifting s: the shifted weights hold exact zeros,
    floored at SHARPEN_EPS before the logarithm, which passes no gradient there."""
    content_w, _, _, _, gamma = _location_arguments(gen, 3)
    prev_w = torch.zeros_like(content_w)
    prev_w[..., 2] = 1.0
    shift = torch.zeros(B, H, 3, dtype=torch.float64)
    shift[..., 1] = 1.0
    args = [
        a.requires_grad_() for a in (content_w, prev_w, torch.zeros(B, H).double(), shift, gamma)
    ]
    upstream = torch.randn(B, H, N, dtype=torch.float64, generator=gen)
    got = torch.autograd.grad(A.LocationAddressing.apply(*args)[0], args, upstream)
    expected = torch.autograd.grad(_autograd_location(*args)[0], args, upstream)
    for g, e in zip(got, expected, strict=True):
        assert torch.isfinite(g).all()
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)


def test_address_stages_are_the_composite_functions(gen):
    args = _pipeline_arguments(gen)
    w, stages = A.address(*args)
    keys, strengths, gate, shift, gamma, memory, prev_w = args
    content_w = _autograd_content_weights(keys, memory, strengths)
    expected = _autograd_location(content_w, prev_w, gate, shift, gamma)
    for got, want in zip((w, stages["gated"], stages["shifted"]), expected, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-15)
    torch.testing.assert_close(stages["content"], content_w, rtol=0, atol=1e-15)


def test_read_write_gradcheck_float64(gen):
    d = torch.float64
    memory = torch.randn(B, N, M, dtype=d, generator=gen, requires_grad=True)
    w = distribution(B, H, N, generator=gen).to(d).requires_grad_()
    erase = torch.rand(B, H, M, dtype=d, generator=gen, requires_grad=True)
    add = torch.randn(B, H, M, dtype=d, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(A.erase_and_write, (memory, w, erase, add))
    assert torch.autograd.gradcheck(A.read, (memory, w))


@pytest.mark.parametrize("strength", [1.0, 1e4])
@pytest.mark.parametrize("gamma", [1.0, 50.0])
def test_no_nan_with_zero_memory_zero_keys_and_extreme_parameters(strength, gamma):
    keys = torch.zeros(B, H, M, requires_grad=True)
    memory = torch.zeros(B, N, M, requires_grad=True)
    strengths = torch.full((B, H), strength, requires_grad=True)
    gate = torch.full((B, H), 0.5, requires_grad=True)
    shift = torch.tensor([0.0, 0.0, 1.0]).expand(B, H, 3).clone().requires_grad_()
    gammas = torch.full((B, H), gamma, requires_grad=True)
    prev = torch.zeros(B, H, N)
    prev[..., 0] = 1.0  # a one-hot previous focus: sharpening meets exact zeros
    w, stages = A.address(keys, strengths, gate, shift, gammas, memory, prev)
    r = A.read(memory, w)
    new = A.erase_and_write(memory, w, torch.ones(B, H, M), torch.zeros(B, H, M))
    loss = w.pow(2).sum() + r.sum() + new.sum() + sum(s.sum() for s in stages.values())
    loss.backward()
    assert torch.isfinite(w).all() and torch.isfinite(r).all()
    for t in (keys, memory, strengths, gate, shift, gammas):
        assert torch.isfinite(t.grad).all()
    assert_distribution(w.detach(), (B, H, N))


def test_huge_strength_on_real_memory_stays_finite(gen):
    memory = torch.randn(B, N, M, generator=gen, requires_grad=True)
    keys = torch.randn(B, H, M, generator=gen, requires_grad=True)
    w = A.content_weights(keys, memory, torch.full((B, H), 1e4))
    (w * torch.arange(N)).sum().backward()
    assert torch.isfinite(w).all() and torch.isfinite(keys.grad).all()
    assert torch.isfinite(memory.grad).all()


# --- Attention (Bahdanau 2014, Luong 2015, Vaswani 2017) -----------------------------------------
# Sizes: batch B=3, source positions S=7, query width Q=5, key width K=4, attention width A=6,
# value width V=2 (dot-style scores need Q = K, so they use Q for both).

S, Q, K, A_, V = 7, 5, 4, 6, 2


def ragged_mask():
    """(B, S) with real lengths 7, 4 and 1."""
    return torch.arange(S) < torch.tensor([7, 4, 1]).unsqueeze(1)


def test_masked_softmax_sums_to_one_and_is_exactly_zero_on_masked_positions(gen):
    scores, mask = torch.randn(B, S, generator=gen), ragged_mask()
    w = A.masked_softmax(scores, mask)
    assert_distribution(w, (B, S))
    assert torch.all(w[~mask] == 0.0)
    torch.testing.assert_close(w[1, :4], torch.softmax(scores[1, :4], -1))
    assert w[2, 0] == 1.0
    torch.testing.assert_close(A.masked_softmax(scores, mask.float()), w)
    torch.testing.assert_close(A.masked_softmax(scores, None), torch.softmax(scores, -1))


def test_masked_softmax_broadcasts_the_mask_and_uses_dim(gen):
    scores = torch.randn(B, H, S, generator=gen)
    w = A.masked_softmax(scores, ragged_mask().unsqueeze(1))
    assert_distribution(w, (B, H, S))
    assert torch.all(w[2, :, 1:] == 0.0)
    w0 = A.masked_softmax(scores.transpose(1, 2), ragged_mask().unsqueeze(2), dim=1)
    torch.testing.assert_close(w0.transpose(1, 2), w)


def test_masked_softmax_rejects_a_fully_masked_row_and_a_wrong_shape(gen):
    scores, mask = torch.randn(B, S, generator=gen), ragged_mask()
    mask[1] = False
    with pytest.raises(ValueError, match="every position is masked"):
        A.masked_softmax(scores, mask)
    with pytest.raises(ValueError, match=r"does not broadcast to the scores' shape \(3, 7\)"):
        A.masked_softmax(scores, torch.ones(B, S + 1))


def test_score_functions_match_their_definitions(gen):
    query, keys = torch.randn(B, Q, generator=gen), torch.randn(B, S, Q, generator=gen)
    expected_dot = torch.stack([keys[b] @ query[b] for b in range(B)])
    torch.testing.assert_close(A.dot_scores(query, keys), expected_dot)
    torch.testing.assert_close(A.scaled_dot_scores(query, keys), expected_dot / Q**0.5)
    other_keys, weight = torch.randn(B, S, K, generator=gen), torch.randn(Q, K, generator=gen)
    general = A.general_scores(query, other_keys, weight)
    assert general.shape == (B, S)
    for b in range(B):
        for s in range(S):
            torch.testing.assert_close(general[b, s], query[b] @ weight @ other_keys[b, s])
    pq, pk = torch.randn(B, A_, generator=gen), torch.randn(B, S, A_, generator=gen)
    v = torch.randn(A_, generator=gen)
    additive = A.additive_scores(pq, pk, v)
    assert additive.shape == (B, S)
    torch.testing.assert_close(additive[1, 3], v @ torch.tanh(pq[1] + pk[1, 3]))


def test_attend_is_the_weighted_sum_of_values(gen):
    values = torch.randn(B, S, V, generator=gen)
    one_hot = torch.zeros(B, S)
    one_hot[:, 5] = 1.0
    torch.testing.assert_close(A.attend(one_hot, values), values[:, 5])
    w = distribution(B, S, generator=gen)
    torch.testing.assert_close(A.attend(w, values), (w.unsqueeze(-1) * values).sum(1))


def _attention_pipeline(score):
    def run(query, keys, values, weight, pk, v):
        if score == "dot":
            e = A.dot_scores(query, keys)
        elif score == "scaled":
            e = A.scaled_dot_scores(query, keys)
        elif score == "general":
            e = A.general_scores(query, keys, weight)
        else:
            e = A.additive_scores(query @ weight, pk, v)
        return A.attend(A.masked_softmax(e, ragged_mask()), values)

    return run


@pytest.mark.parametrize("score", ["dot", "scaled", "general", "additive"])
def test_attention_gradcheck_float64(gen, score):
    d = torch.float64
    args = (
        torch.randn(B, Q, dtype=d, generator=gen),
        torch.randn(B, S, Q, dtype=d, generator=gen),
        torch.randn(B, S, V, dtype=d, generator=gen),
        torch.randn(Q, Q, dtype=d, generator=gen),
        torch.randn(B, S, Q, dtype=d, generator=gen),
        torch.randn(Q, dtype=d, generator=gen),
    )
    args = tuple(a.requires_grad_() for a in args)
    assert torch.autograd.gradcheck(_attention_pipeline(score), args)


@pytest.mark.parametrize("scale", [0.0, 1e4])
def test_attention_has_no_nan_with_zero_or_huge_scores(scale):
    query = torch.full((B, Q), scale, requires_grad=True)
    keys = torch.ones(B, S, Q) * torch.linspace(-1, 1, S).unsqueeze(-1)
    keys.requires_grad_()
    values = torch.randn(B, S, V, requires_grad=True)
    for e in (A.dot_scores(query, keys), A.scaled_dot_scores(query, keys)):
        w = A.masked_softmax(e, ragged_mask())
        c = A.attend(w, values)
        (c.sum() + (w * torch.arange(S)).sum()).backward()
        assert torch.isfinite(w).all() and torch.isfinite(c).all()
        assert torch.all(w[~ragged_mask()] == 0.0)
    for t in (query, keys, values):
        assert torch.isfinite(t.grad).all()
    huge = A.masked_softmax(torch.full((B, S), 1e4) * torch.arange(S), ragged_mask())
    assert torch.all(huge[torch.arange(B), torch.tensor([6, 3, 0])] == 1.0)


def test_local_window_mask_keeps_exactly_the_positions_within_d_of_p():
    centre = torch.tensor([0.0, 3.4, 6.9])
    mask = A.local_window_mask(centre, S, 2)
    assert mask.shape == (B, S)
    expected = torch.tensor(
        [
            [1, 1, 1, 0, 0, 0, 0],  # [−2, 2]
            [0, 0, 1, 1, 1, 1, 0],  # [1.4, 5.4]
            [0, 0, 0, 0, 0, 1, 1],  # [4.9, 8.9]
        ],
        dtype=torch.bool,
    )
    assert torch.equal(mask, expected)
    with pytest.raises(ValueError, match="must be >= 0"):
        A.local_window_mask(centre, S, -1)


def test_gaussian_window_factor_with_sigma_half_the_window(gen):
    centre = torch.tensor([1.0, 3.0, 4.5], dtype=torch.float64)
    factor = A.gaussian_window(centre, S, 2)  # σ = 1
    assert factor.shape == (B, S)
    assert factor[0, 1] == 1.0 and factor[1, 3] == 1.0
    torch.testing.assert_close(factor[1, 5], torch.tensor(torch.e**-2.0, dtype=torch.float64))
    torch.testing.assert_close(factor[2, 4], factor[2, 5])
    assert torch.all((factor > 0) & (factor <= 1))
    assert torch.autograd.gradcheck(
        lambda p: A.gaussian_window(p, S, 3), (centre.clone().requires_grad_(),)
    )
    with pytest.raises(ValueError, match="must be >= 1"):
        A.gaussian_window(centre, S, 0)


def test_local_p_weights_are_zero_outside_the_window(gen):
    centre, window = torch.tensor([2.2, 0.3, 0.6]), 1  # p_t in (0, length), as local-p makes
    keep = ragged_mask() & A.local_window_mask(centre, S, window)
    w = A.masked_softmax(torch.randn(B, S, generator=gen), keep) * A.gaussian_window(
        centre, S, window
    )
    positions = torch.arange(S).float()
    outside = (positions - centre.unsqueeze(1)).abs() > window
    assert torch.all(w[outside] == 0.0) and torch.all(w[~ragged_mask()] == 0.0)
    assert torch.all(w[keep] > 0) and torch.all(w.sum(-1) <= 1.0)


def test_address_pipeline_on_each_device_matches_a_float64_cpu_reference(gen, device):
    args = _pipeline_arguments(gen)
    weights, _ = A.address(*(a.float().to(device) for a in args))
    reference, _ = A.address(*args)
    assert weights.device.type == device.type
    assert_distribution(weights.cpu(), (B, H, N))
    torch.testing.assert_close(weights.cpu().double(), reference, rtol=1e-4, atol=1e-6)


def test_masked_softmax_is_uniform_over_the_kept_positions_of_a_row_of_minus_infinities():
    scores = torch.tensor([[-math.inf, -math.inf, -math.inf], [0.0, 1.0, -math.inf]])
    mask = torch.tensor([[True, False, True], [True, True, True]])
    w = A.masked_softmax(scores, mask)
    torch.testing.assert_close(w[0], torch.tensor([0.5, 0.0, 0.5]))
    torch.testing.assert_close(w[1], torch.softmax(scores[1], -1))
    torch.testing.assert_close(A.masked_softmax(scores[:1]), torch.full((1, 3), 1 / 3))
    scores = scores.clone().requires_grad_()
    A.masked_softmax(scores, mask)[:, 0].sum().backward()
    assert torch.isfinite(scores.grad).all()
