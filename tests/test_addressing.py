"""Invariants of the addressing maths (NTM eqs 2-9).

Every dimension gets its own size (B=3, H=2, N=7, M=5, S=3 or 5) so that a transposed axis fails.
"""

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


def test_address_pipeline_gradcheck_float64(gen):
    d = torch.float64
    args = (
        torch.randn(B, H, M, dtype=d, generator=gen),
        torch.rand(B, H, dtype=d, generator=gen) * 5,
        torch.rand(B, H, dtype=d, generator=gen),
        distribution(B, H, 3, generator=gen).to(d),
        1 + torch.rand(B, H, dtype=d, generator=gen) * 3,
        torch.randn(B, N, M, dtype=d, generator=gen),
        distribution(B, H, N, generator=gen).to(d),
    )
    args = tuple(a.requires_grad_() for a in args)
    assert torch.autograd.gradcheck(_pipeline, args)


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
