"""The RL-NTM's interfaces made soft (differentiable), for the paper's comparison with the model
trained by backpropagation alone: a head is a distribution over its tape's cells, moved by the
probabilities of its moves, and the output's emissions are a distribution over how many targets
have been emitted so far. Pure functions over a batch; :meth:`augrnn.rl_ntm.model.RLNTM.run_soft`
uses them."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F


def soft_move(weights: Tensor, moves: Tensor, lengths: Tensor) -> Tensor:
    """A head's position distribution after a soft move.

    weights: (B, L) P(the head is on cell i), zero past each episode's ``lengths`` (B,) cells.
    moves:   (B, 3) P(move −1, 0, +1).
    Returns (B, L): each cell's mass moves by each offset in proportion to its probability;
    what would leave the tape (back from cell 0, forward from the last cell) stays where it
    was, as a discrete head does. Each row keeps its sum.
    """
    back, stay, forward = moves.unbind(-1)
    cells = torch.arange(weights.shape[1], device=weights.device)
    inside = cells[None] < lengths[:, None]
    first = (cells == 0)[None].to(weights.dtype)
    last = (cells[None] == (lengths - 1)[:, None]).to(weights.dtype)
    to_next = F.pad(weights[:, :-1], (1, 0)) * forward[:, None] * inside
    to_previous = F.pad(weights[:, 1:], (0, 1)) * back[:, None]
    blocked = (weights * last).sum(1, keepdim=True) * forward[:, None] * last
    blocked = blocked + weights[:, :1] * back[:, None] * first
    return weights * stay[:, None] + to_next + to_previous + blocked


def emission_probabilities(emit: Tensor, targets: Tensor, steps_left: Tensor, slots: int) -> Tensor:
    """P(emit at this step) given each count k = 0..slots−1 of targets emitted so far, with the
    discrete run's rules: an emission is forced once the targets left fill the steps left, and
    none is possible once all are emitted.

    emit:       (B,) the controller's P(emit).
    targets:    (B,) K_b, each episode's targets.
    steps_left: (B,) the steps left in each episode's budget, this one included.
    Returns (B, slots).
    """
    counts = torch.arange(slots, device=emit.device)
    left = targets[:, None] - counts[None]
    forced = (left >= steps_left[:, None]) & (left > 0)
    free = emit[:, None].expand(-1, slots)
    return torch.where(forced, torch.ones_like(free), torch.where(left > 0, free, 0.0))


def advance_counts(counts: Tensor, emissions: Tensor) -> Tensor:
    """P(k targets emitted) after a step: ``counts`` (B, S) before it, ``emissions`` (B, S)
    P(emit | k). The last count never emits (its emission probability is 0)."""
    emitted = counts * emissions
    return counts - emitted + F.pad(emitted[:, :-1], (1, 0))
