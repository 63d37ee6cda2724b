"""REINFORCE (Williams 1992) as the RL-NTM uses it (Zaremba & Sutskever 2015, §4-§5), as pure
functions on (T, B) tensors: the returns that count only later rewards, the surrogate whose
gradient is the estimator, and the learned baseline's regression."""

from __future__ import annotations

from torch import Tensor


def causal_returns(rewards: Tensor) -> Tensor:
    """G_t = Σ_{i≥t} r_i, the rewards from step t on (§5, "causality"): (T, B) -> (T, B)."""
    return rewards.flip(0).cumsum(0).flip(0)


def reinforce_surrogate(log_probs: Tensor, returns: Tensor, baselines: Tensor) -> Tensor:
    """−Σ_t log π(a_t) (G_t − b_t), averaged over the batch: its gradient is the REINFORCE
    estimate of −∂E[R]/∂θ, the advantage G_t − b_t held constant.

    log_probs: (T, B) log-probabilities of the actions taken (0 where no choice was made);
    returns: (T, B) G_t; baselines: (T, B) b_t.
    """
    if not (log_probs.shape == returns.shape == baselines.shape):
        raise ValueError(
            f"log_probs, returns and baselines must share a (T, B) shape, got "
            f"{tuple(log_probs.shape)}, {tuple(returns.shape)} and {tuple(baselines.shape)}"
        )
    advantage = (returns - baselines).detach()
    return -(log_probs * advantage).sum(0).mean()


def baseline_loss(baselines: Tensor, returns: Tensor) -> Tensor:
    """Σ_t (G_t − b_t)², averaged over the batch; the returns held constant: (T, B) each."""
    return (returns.detach() - baselines).pow(2).sum(0).mean()
