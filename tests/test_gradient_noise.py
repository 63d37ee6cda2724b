"""Decaying gradient noise: the paper's schedule, and hooks that add it to every gradient."""

import pytest
import torch
from torch import nn

from augrnn.gradient_noise import gradient_noise_std, register_gradient_noise


def test_gradient_noise_decays_as_the_paper_has_it():
    assert gradient_noise_std(1.0, 0) == 1.0
    assert gradient_noise_std(1.0, 99) == pytest.approx(100**-0.275)
    assert gradient_noise_std(0.0, 5) == 0.0


def test_the_hooks_add_noise_of_the_current_scale_to_every_gradient():
    layer = nn.Linear(50, 40)
    sigma = [0.0]
    register_gradient_noise(layer, lambda: sigma[0])
    x = torch.randn(8, 50)
    layer(x).sum().backward()
    clean = layer.weight.grad.clone()
    assert torch.allclose(clean, torch.ones(8, 40).t() @ x)  # no noise at σ = 0
    for scale in (0.5, 2.0):
        sigma[0] = scale
        layer.zero_grad()
        torch.manual_seed(0)
        layer(x).sum().backward()
        noise = layer.weight.grad - clean
        assert float(noise.std()) == pytest.approx(scale, rel=0.1)
        assert layer.bias.grad is not None and not torch.equal(
            layer.bias.grad, torch.full((40,), 8.0)
        )
