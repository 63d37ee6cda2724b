"""The convolutional gated recurrent unit (CGRU) of the Neural GPU (Kaiser & Sutskever 2015,
§2), as pure functions of the state and the weights.

The state s ("mental image") is (B, m, w, n): m feature maps over a grid of w rows and n
columns. One CGRU step is

    u  = σ′(U ∗ s + B)
    r  = σ′(R ∗ s + B′)
    s′ = u · s + (1 − u) · tanh(W ∗ (r · s) + B″)

with ∗ a 2-D convolution of kernel kw × kh ("SAME" padding) from m maps to m maps, and the
paper's cutoff sigmoid σ′(x) = max(0, min(1, 1.2 σ(x) − 0.1)), which reaches 0 and 1 so that a
gate can hold the state exactly. ``activation="hard"`` uses the hard sigmoid clip(0.5x + 0.5,
0, 1) and hard tanh clip(x, −1, 1) of Freivalds & Liepins 2017 (DNGPU; not in the Neural GPU
paper) instead, whose saturation cost :func:`saturation_cost` keeps pre-activations off the
flat parts. DNGPU's diagonal gates (``diagonal=True``, also not in the paper) keep a shifted
state instead of s in the update, s′ = u · D(s) + (1 − u) · c, with D (:func:`diagonal_shift`)
moving a third of the maps one column forward and a third one column back: what a gate keeps
travels along the tape by itself, as a carry has to.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

ACTIVATIONS = ("cutoff", "hard")
#: DNGPU's saturation cost counts pre-activations beyond this magnitude.
SATURATION_LIMIT = 0.9


def cutoff_sigmoid(x: Tensor) -> Tensor:
    """σ′(x) = max(0, min(1, 1.2 σ(x) − 0.1)) (the paper's gate nonlinearity)."""
    return (1.2 * torch.sigmoid(x) - 0.1).clamp(0.0, 1.0)


def hard_sigmoid(x: Tensor) -> Tensor:
    """clip(0.5 x + 0.5, 0, 1) (DNGPU)."""
    return (0.5 * x + 0.5).clamp(0.0, 1.0)


def hard_tanh(x: Tensor) -> Tensor:
    """clip(x, −1, 1) (DNGPU)."""
    return x.clamp(-1.0, 1.0)


def saturation_cost(pre_activations: Tensor) -> Tensor:
    """DNGPU's saturation cost of one set of pre-activations: Σ max(0, |x| − 0.9) per
    example, averaged over the batch (dim 0). (B, ...) -> scalar."""
    excess = (pre_activations.abs() - SATURATION_LIMIT).clamp_min(0.0)
    return excess.flatten(1).sum(1).mean()


def diagonal_shift(state: Tensor) -> Tensor:
    """DNGPU's D(s): of the m maps of ``state`` (B, m, w, n), the last two groups of ⌊m/3⌋
    maps move one column towards higher and towards lower columns (0 shifted in), the rest stay.
    Returns (B, m, w, n)."""
    third = state.shape[1] // 3
    still, forward, back = state.split([state.shape[1] - 2 * third, third, third], dim=1)
    forward = F.pad(forward[..., :-1], (1, 0))  # column i takes column i − 1
    back = F.pad(back[..., 1:], (0, 1))  # column i takes column i + 1
    return torch.cat([still, forward, back], dim=1)


def cgru(
    state: Tensor,
    gate_weight: Tensor,
    gate_bias: Tensor,
    candidate_weight: Tensor,
    candidate_bias: Tensor,
    activation: str = "cutoff",
    diagonal: bool = False,
) -> tuple[Tensor, Tensor, Tensor]:
    """One CGRU step (the module's equations).

    state:            s, (B, m, w, n).
    gate_weight:      U and R stacked, (2m, m, kw, kh); gate_bias: B and B′, (2m,).
    candidate_weight: W, (m, m, kw, kh); candidate_bias: B″, (m,).
    activation:       "cutoff" (the paper) or "hard" (DNGPU).
    diagonal:         DNGPU's diagonal gates: the update keeps D(s) instead of s.

    Returns s′ (B, m, w, n), the update gate u (B, m, w, n) and the pre-activations of both
    gates and the candidate (B, 3m, w, n), for the saturation cost and the views.
    """
    kw, kh = gate_weight.shape[-2:]
    padding = (kw // 2, kh // 2)
    gates = F.conv2d(state, gate_weight, gate_bias, padding=padding)
    squash = cutoff_sigmoid if activation == "cutoff" else hard_sigmoid
    update, reset = squash(gates).chunk(2, dim=1)
    candidate_in = F.conv2d(reset * state, candidate_weight, candidate_bias, padding=padding)
    candidate = torch.tanh(candidate_in) if activation == "cutoff" else hard_tanh(candidate_in)
    kept = diagonal_shift(state) if diagonal else state
    new_state = update * kept + (1 - update) * candidate
    return new_state, update, torch.cat([gates, candidate_in], dim=1)
