"""The CGRU as pure functions: the cutoff sigmoid reaches 0 and 1, the update gate keeps or
replaces the state, the state stays in [−1, 1], float64 gradients, no NaN at extreme gates, and
the saturation cost."""

import pytest
import torch

from augrnn.neural_gpu.cgru import (
    cgru,
    cutoff_sigmoid,
    diagonal_shift,
    hard_sigmoid,
    hard_tanh,
    saturation_cost,
)

B, M, W, N = 2, 3, 4, 6


def weights(m=M, scale=0.3, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return (
        (torch.randn(2 * m, m, 3, 3, generator=g) * scale).to(dtype),
        (torch.randn(2 * m, generator=g) * scale).to(dtype),
        (torch.randn(m, m, 3, 3, generator=g) * scale).to(dtype),
        (torch.randn(m, generator=g) * scale).to(dtype),
    )


def state(seed=1, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.tanh(torch.randn(B, M, W, N, generator=g)).to(dtype)


def test_the_cutoff_sigmoid_is_the_papers_and_reaches_0_and_1():
    x = torch.tensor([-10.0, -3.0, 0.0, 3.0, 10.0])
    expected = (1.2 * torch.sigmoid(x) - 0.1).clamp(0, 1)
    assert torch.equal(cutoff_sigmoid(x), expected)
    assert cutoff_sigmoid(x)[0] == 0 and cutoff_sigmoid(x)[-1] == 1
    assert cutoff_sigmoid(torch.tensor(0.0)) == pytest.approx(0.5)
    assert torch.equal(hard_sigmoid(torch.tensor([-2.0, 0.0, 2.0])), torch.tensor([0.0, 0.5, 1.0]))
    assert torch.equal(hard_tanh(torch.tensor([-2.0, 0.5, 2.0])), torch.tensor([-1.0, 0.5, 1.0]))


@pytest.mark.parametrize("activation", ["cutoff", "hard"])
def test_shapes_and_the_state_stays_within_minus_one_and_one(activation):
    s = state()
    new, update, pre = cgru(s, *weights(scale=2.0), activation=activation)
    assert new.shape == (B, M, W, N) and update.shape == (B, M, W, N)
    assert pre.shape == (B, 3 * M, W, N)
    assert new.abs().max() <= 1.0 and update.min() >= 0 and update.max() <= 1


def test_an_open_update_gate_keeps_the_state_and_a_closed_one_replaces_it():
    s = state()
    gate_w, gate_b, cand_w, cand_b = weights()
    zero = torch.zeros_like(gate_w)
    keep = torch.cat([torch.full((M,), 50.0), torch.zeros(M)])
    new, update, _ = cgru(s, zero, keep, cand_w, cand_b)
    assert torch.equal(update, torch.ones_like(update)) and torch.equal(new, s)
    # u = 0, r = 1: s' = tanh(W * s + B'')
    replace = torch.cat([torch.full((M,), -50.0), torch.full((M,), 50.0)])
    new, _, _ = cgru(s, zero, replace, cand_w, cand_b)
    expected = torch.tanh(torch.nn.functional.conv2d(s, cand_w, cand_b, padding=1))
    assert torch.allclose(new, expected)


def test_a_column_only_sees_its_neighbours_in_one_step():
    """3 x 3 kernels, two convolutions in series (the reset gate's, then the candidate's): a
    change at column 0 reaches column 2 in one step and leaves columns 3 and beyond unchanged."""
    s = state()
    moved = s.clone()
    moved[:, :, :, 0] = -moved[:, :, :, 0]
    a, _, _ = cgru(s, *weights())
    b, _, _ = cgru(moved, *weights())
    assert torch.equal(a[..., 3:], b[..., 3:]) and not torch.allclose(a[..., 2], b[..., 2])


@pytest.mark.parametrize(("activation", "diagonal"), [("cutoff", False), ("hard", True)])
def test_float64_gradients(activation, diagonal):
    s = state(dtype=torch.float64).requires_grad_()
    params = [w.requires_grad_() for w in weights(scale=0.2, dtype=torch.float64)]
    torch.autograd.gradcheck(
        lambda *a: cgru(*a, activation=activation, diagonal=diagonal)[0], (s, *params)
    )


def test_the_diagonal_shift_moves_two_thirds_of_the_maps_one_column_each_way():
    s = torch.arange(2 * 7 * 2 * 5, dtype=torch.float32).reshape(2, 7, 2, 5)
    shifted = diagonal_shift(s)
    assert shifted.shape == s.shape
    assert torch.equal(shifted[:, :3], s[:, :3])  # 7 - 2 * 2 maps stay
    assert torch.equal(shifted[:, 3:5, :, 1:], s[:, 3:5, :, :-1])  # forward: i takes i - 1
    assert torch.equal(shifted[:, 5:, :, :-1], s[:, 5:, :, 1:])  # back: i takes i + 1
    assert (shifted[:, 3:5, :, 0] == 0).all() and (shifted[:, 5:, :, -1] == 0).all()


def test_an_open_diagonal_gate_moves_the_kept_state_along_the_columns():
    s = state()
    gate_w, _, cand_w, cand_b = weights()
    keep = torch.cat([torch.full((M,), 50.0), torch.zeros(M)])
    new, _, _ = cgru(s, torch.zeros_like(gate_w), keep, cand_w, cand_b, diagonal=True)
    assert torch.equal(new, diagonal_shift(s)) and not torch.equal(new, s)


@pytest.mark.parametrize("bias", [-1e4, 1e4])
def test_no_nan_with_zero_state_or_saturated_gates(bias):
    s = torch.zeros(B, M, W, N, requires_grad=True)
    gate_w, _, cand_w, cand_b = weights(scale=1e3)
    gate_b = torch.full((2 * M,), bias)
    new, _, pre = cgru(s, gate_w, gate_b, cand_w, cand_b)
    (new.sum() + saturation_cost(pre)).backward()
    assert torch.isfinite(new).all() and torch.isfinite(s.grad).all()


def test_the_saturation_cost_counts_only_beyond_the_limit():
    x = torch.tensor([[0.5, -0.9, 1.4, -2.0]])
    assert saturation_cost(x).item() == pytest.approx(0.5 + 1.1)
    assert saturation_cost(torch.full((3, 4), 0.89)).item() == 0
