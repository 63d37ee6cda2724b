"""Decaying Gaussian gradient noise (Neelakantan et al. 2015, "Adding Gradient Noise Improves
Learning for Very Deep Networks"): N(0, σ_t²) added to every gradient at training step t, with
σ_t² = η / (1 + t)^γ and γ = 0.55. The Neural Programmer, the NRAM and the Neural GPU papers
train with it; each model's ``grad_noise`` (or ``gradient_noise``) setting is η."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

#: γ, the noise's annealing exponent.
DECAY = 0.55


def gradient_noise_std(eta: float, step: int, decay: float = DECAY) -> float:
    """σ_t = sqrt(η / (1 + t)^γ) at training step t (γ = ``decay``); 0 when η is 0."""
    return (eta / (1.0 + step) ** decay) ** 0.5


def register_gradient_noise(module: nn.Module, std: Callable[[], float]) -> None:
    """Add N(0, σ²) to the gradient of each of ``module``'s parameters as the backward pass
    computes it, σ = ``std()`` asked each time (0: the gradient is left alone)."""

    def add_noise(grad: Tensor) -> Tensor:
        sigma = std()
        return grad + sigma * torch.randn_like(grad) if sigma > 0 else grad

    for parameter in module.parameters():
        parameter.register_hook(add_noise)
