"""The Differentiable Neural Computer's memory addressing as pure functions (Graves et al. 2016,
Nature 538, Methods: "Dynamic memory allocation" and "Temporal memory linkage").

Shapes: B episodes, R read heads, N memory slots; one write head, as in the paper. Every weighting
is non-negative and sums to at most 1 over the slots. Content addressing is the NTM's,
:func:`augrnn.addressing.content_weights`; reading and writing are the NTM's too (one write head:
M_t = M_{t−1} ∘ (E − w^w_t e_tᵀ) + w^w_t v_tᵀ is :func:`augrnn.addressing.erase_and_write`).

One step, in the paper's order: :func:`retention` and :func:`update_usage` (from the previous
step's weightings), :func:`allocation_weights`, :func:`write_weights`, the write,
:func:`update_link` and :func:`update_precedence`, :func:`directional_weights` and
:func:`read_weights`, the read.
"""

from __future__ import annotations

import torch
from torch import Tensor

#: Usage is floored at this value before allocation, as in the reference implementation, so that
#: the cumulative product of usages is never exactly 0 and its gradient stays finite.
USAGE_EPS = 1e-6
#: Read modes, in the order of π_t's three entries (the paper's: backward, content, forward).
READ_MODES = ("backward", "content", "forward")


def retention(free_gates: Tensor, prev_read_weights: Tensor) -> Tensor:
    """Memory retention ψ_t = Π_i (1 − f^i_t w^{r,i}_{t−1}): how much of each slot the read heads
    leave allocated after freeing what they read.

    free_gates:        (B, R) free gates f^i_t in [0, 1].
    prev_read_weights: (B, R, N) read weightings w^{r,i}_{t−1}.
    Returns (B, N) in [0, 1].
    """
    return torch.prod(1.0 - free_gates.unsqueeze(-1) * prev_read_weights, dim=1)


def update_usage(prev_usage: Tensor, prev_write_weights: Tensor, retention: Tensor) -> Tensor:
    """Usage u_t = (u_{t−1} + w^w_{t−1} − u_{t−1} ∘ w^w_{t−1}) ∘ ψ_t.

    prev_usage:         (B, N) usage u_{t−1} in [0, 1] (u_0 = 0).
    prev_write_weights: (B, N) write weighting w^w_{t−1}.
    retention:          (B, N) retention ψ_t (:func:`retention`).
    Returns (B, N) in [0, 1].
    """
    return (prev_usage + prev_write_weights - prev_usage * prev_write_weights) * retention


def allocation_weights(usage: Tensor) -> Tensor:
    """Allocation weighting (the paper's eq. 1): with φ_t the slots sorted by ascending usage,

        a_t[φ_t[j]] = (1 − u_t[φ_t[j]]) Π_{i<j} u_t[φ_t[i]],

    so the least used slot gets most of the weighting, and a slot in full use none. The
    permutation φ_t carries no gradient (the paper ignores the sort's); the sorted usages do.
    Usage is floored at :data:`USAGE_EPS` first, as in the reference implementation.

    usage: (B, N) usage u_t in [0, 1].
    Returns (B, N) in [0, 1], summing to at most 1 (to 1 − Π_i u_t[i]).
    """
    usage = USAGE_EPS + (1.0 - USAGE_EPS) * usage
    sorted_usage, order = torch.sort(usage, dim=-1, stable=True)
    # Exclusive cumulative product: Π_{i<j}, 1 for the least used slot.
    ones = torch.ones_like(sorted_usage[..., :1])
    before = torch.cumprod(torch.cat([ones, sorted_usage[..., :-1]], dim=-1), dim=-1)
    sorted_allocation = (1.0 - sorted_usage) * before
    return torch.zeros_like(usage).scatter(-1, order, sorted_allocation)


def write_weights(
    allocation: Tensor, content: Tensor, allocation_gate: Tensor, write_gate: Tensor
) -> Tensor:
    """Write weighting (the paper's eq. 2): w^w_t = g^w_t [g^a_t a_t + (1 − g^a_t) c^w_t].

    allocation:      (B, N) allocation weighting a_t (:func:`allocation_weights`).
    content:         (B, N) write content weighting c^w_t = C(M_{t−1}, k^w_t, β^w_t).
    allocation_gate: (B,) allocation gate g^a_t in [0, 1].
    write_gate:      (B,) write gate g^w_t in [0, 1].
    Returns (B, N), summing to at most 1.
    """
    g_a, g_w = allocation_gate.unsqueeze(-1), write_gate.unsqueeze(-1)
    return g_w * (g_a * allocation + (1.0 - g_a) * content)


def update_precedence(prev_precedence: Tensor, write_weights: Tensor) -> Tensor:
    """Precedence p_t = (1 − Σ_i w^w_t[i]) p_{t−1} + w^w_t: how much each slot was the last one
    written.

    prev_precedence: (B, N) precedence p_{t−1} (p_0 = 0).
    write_weights:   (B, N) write weighting w^w_t.
    Returns (B, N), summing to at most 1.
    """
    return (1.0 - write_weights.sum(-1, keepdim=True)) * prev_precedence + write_weights


def update_link(prev_link: Tensor, prev_precedence: Tensor, write_weights: Tensor) -> Tensor:
    """Temporal link matrix, the degree to which slot i was written right after slot j:

        L_t[i, j] = (1 − w^w_t[i] − w^w_t[j]) L_{t−1}[i, j] + w^w_t[i] p_{t−1}[j],  L_t[i, i] = 0.

    An operator of its own (``augrnn::dnc_update_link``) with a hand-written backward pass: the
    N x N products dominate a DNC step, and autograd's and torch.compile's versions of this
    formula pass over the (B, N, N) tensors two to four times as often (RESULTS.md).

    prev_link:       (B, N, N) link matrix L_{t−1} (L_0 = 0).
    prev_precedence: (B, N) precedence p_{t−1}.
    write_weights:   (B, N) write weighting w^w_t.
    Returns (B, N, N) in [0, 1], each row and column summing to at most 1.
    """
    return _update_link(prev_link, prev_precedence, write_weights)


@torch.library.custom_op("augrnn::dnc_update_link", mutates_args=())
def _update_link(prev_link: Tensor, prev_precedence: Tensor, write_weights: Tensor) -> Tensor:
    w_i, w_j = write_weights.unsqueeze(-1), write_weights.unsqueeze(-2)
    link = prev_link * (1.0 - w_i - w_j)
    link.addcmul_(w_i, prev_precedence.unsqueeze(-2))
    link.diagonal(dim1=-2, dim2=-1).zero_()
    return link


@_update_link.register_fake
def _(prev_link: Tensor, prev_precedence: Tensor, write_weights: Tensor) -> Tensor:
    return torch.empty_like(prev_link)


@torch.library.custom_op("augrnn::dnc_update_link_backward", mutates_args=())
def _update_link_backward(
    grad: Tensor, prev_link: Tensor, prev_precedence: Tensor, write_weights: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Gradients of L_t with respect to L_{t−1}, p_{t−1} and w^w_t, given G = ∂ℓ/∂L_t with its
    diagonal dropped (L_t's diagonal is a constant 0):

        ∂ℓ/∂L_{t−1} = G ∘ (1 − w_i − w_j),   ∂ℓ/∂p_{t−1} = Gᵀ w,
        ∂ℓ/∂w[k] = Σ_j G[k, j] p[j] − Σ_j (G ∘ L_{t−1})[k, j] − Σ_i (G ∘ L_{t−1})[i, k].
    """
    w = write_weights
    g = grad.clone(memory_format=torch.contiguous_format)
    g.diagonal(dim1=-2, dim2=-1).zero_()
    grad_link = g * (1.0 - w.unsqueeze(-1) - w.unsqueeze(-2))
    moved = g * prev_link
    grad_write = torch.bmm(g, prev_precedence.unsqueeze(-1)).squeeze(-1)
    grad_write -= moved.sum(-1) + moved.sum(-2)
    grad_precedence = torch.bmm(w.unsqueeze(-2), g).squeeze(-2)
    return grad_link, grad_precedence, grad_write


@_update_link_backward.register_fake
def _(grad, prev_link, prev_precedence, write_weights):
    return (
        torch.empty_like(prev_link),
        torch.empty_like(prev_precedence),
        torch.empty_like(write_weights),
    )


def _update_link_setup(ctx, inputs, output) -> None:
    ctx.save_for_backward(*inputs)


def _update_link_grad(ctx, grad: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    return _update_link_backward(grad, *ctx.saved_tensors)


_update_link.register_autograd(_update_link_grad, setup_context=_update_link_setup)


def directional_weights(link: Tensor, prev_read_weights: Tensor) -> tuple[Tensor, Tensor]:
    """Forward and backward weightings f^i_t = L_t w^{r,i}_{t−1}, b^i_t = L_tᵀ w^{r,i}_{t−1}: the
    slots written just after (forward) and just before (backward) those each head read.

    link:              (B, N, N) link matrix L_t.
    prev_read_weights: (B, R, N) read weightings w^{r,i}_{t−1}.
    Returns (forward, backward), each (B, R, N) and summing to at most 1.
    """
    forward = torch.bmm(prev_read_weights, link.transpose(-2, -1))
    backward = torch.bmm(prev_read_weights, link)
    return forward, backward


def read_weights(modes: Tensor, backward: Tensor, content: Tensor, forward: Tensor) -> Tensor:
    """Read weighting w^{r,i}_t = π^i_t[1] b^i_t + π^i_t[2] c^{r,i}_t + π^i_t[3] f^i_t.

    modes:    (B, R, 3) read modes π^i_t, a distribution over (backward, content, forward).
    backward: (B, R, N) backward weightings b^i_t.
    content:  (B, R, N) read content weightings c^{r,i}_t = C(M_t, k^{r,i}_t, β^{r,i}_t).
    forward:  (B, R, N) forward weightings f^i_t.
    Returns (B, R, N), summing to at most 1.
    """
    return modes[..., 0:1] * backward + modes[..., 1:2] * content + modes[..., 2:3] * forward
