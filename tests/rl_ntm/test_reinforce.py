"""REINFORCE's pieces: returns that count only later rewards, a surrogate whose gradient is an
unbiased estimate of the expected reward's (with or without a baseline), the baseline's
regression."""

import pytest
import torch

from augrnn.rl_ntm.reinforce import baseline_loss, causal_returns, reinforce_surrogate


def test_the_return_of_a_step_sums_the_rewards_from_it_on():
    rewards = torch.tensor([[1.0, 0.0], [2.0, 0.0], [3.0, -1.0]])
    assert causal_returns(rewards).tolist() == [[6.0, -1.0], [5.0, -1.0], [3.0, -1.0]]


@pytest.mark.parametrize("baseline", [0.0, 2.5])
def test_the_surrogate_s_gradient_is_unbiased_for_the_expected_reward(baseline):
    """One choice among 3 with rewards 1, 2, 5: over 200,000 samples the estimate's mean is
    within 0.01 of −∂E[r]/∂θ, computed exactly from the probabilities."""
    theta = torch.tensor([0.3, -0.2, 0.1], requires_grad=True)
    reward = torch.tensor([1.0, 2.0, 5.0])
    exact = torch.autograd.grad(-(theta.softmax(-1) * reward).sum(), theta)[0]
    generator = torch.Generator().manual_seed(0)
    n = 200_000
    actions = torch.multinomial(theta.detach().softmax(-1), n, True, generator=generator)
    log_probs = theta.log_softmax(-1)[actions][None]  # (T = 1, B = n)
    returns = reward[actions][None]
    estimate = torch.autograd.grad(
        reinforce_surrogate(log_probs, returns, torch.full_like(returns, baseline)), theta
    )[0]
    assert torch.allclose(estimate, exact, atol=0.01), (estimate, exact)


def test_the_baseline_learns_the_returns_and_moves_nothing_else():
    baselines = torch.zeros(2, 3, requires_grad=True)
    returns = torch.ones(2, 3, requires_grad=True)
    baseline_loss(baselines, returns).backward()
    assert torch.allclose(baselines.grad, torch.full((2, 3), -2.0 / 3))
    assert returns.grad is None


def test_shapes_that_differ_are_a_clear_error():
    with pytest.raises(ValueError, match=r"\(T, B\)"):
        reinforce_surrogate(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(3, 2))
