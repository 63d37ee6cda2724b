"""Addressing maths shared by every augmentation: distributions over positions and weighted sums.

Pure functions of tensors, following the Neural Turing Machine paper (Graves, Wayne & Danihelka
2014, §3.1-3.3, eqs 2-9). Shapes use B for the batch, H for heads, N for memory slots, M for the
width of a slot and S for the width of the shift distribution. Every head dimension may hold any
number of heads, so one call addresses all heads of a kind at once.

The attention functions at the end (Bahdanau, Cho & Bengio 2014; Luong, Pham & Manning 2015;
Vaswani et al. 2017) score one query against S source positions: the query is (..., D), the keys
(..., S, D) and the scores (..., S), for any leading dimensions (usually just the batch B).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

#: Added to squared norms before the square root, so that an all-zero key or memory row has a
#: finite similarity (0) and a finite gradient.
NORM_EPS = 1e-12
#: Floor on weights before the logarithm in :func:`sharpen`, so that zero weights stay finite.
SHARPEN_EPS = 1e-30

SIMILARITIES = ("cosine", "dot")


def cosine_similarity(keys: Tensor, memory: Tensor) -> Tensor:
    """K[k, M(i)] = k·M(i) / (‖k‖ ‖M(i)‖), the similarity of NTM eq 6.

    keys:   (B, H, M) keys k_t.
    memory: (B, N, M) memory M_t.
    Returns (B, H, N) similarities in [-1, 1]; 0 where a key or a row is all zeros.
    """
    return _cosine_similarity_and_norms(keys, memory)[0]


def _cosine_similarity_and_norms(keys: Tensor, memory: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`cosine_similarity` (B, H, N) with the key norms (B, H) and row norms (B, N)."""
    dots = torch.einsum("bhm,bnm->bhn", keys, memory)
    key_norms = torch.sqrt((keys * keys).sum(-1) + NORM_EPS)
    row_norms = torch.sqrt((memory * memory).sum(-1) + NORM_EPS)
    return dots / (key_norms.unsqueeze(-1) * row_norms.unsqueeze(-2)), key_norms, row_norms


def _softmax_backward(weights: Tensor, grad_weights: Tensor) -> Tensor:
    """The gradient g_z = w ⊙ (g_w − Σ_i g_w(i) w(i)) of w = softmax(z) over the last axis."""
    return weights * (grad_weights - (grad_weights * weights).sum(-1, keepdim=True))


class CosineContentWeights(torch.autograd.Function):
    """w^c = softmax_i(β K[k, M(i)]) with the cosine K (NTM eqs 5-6) and its backward pass
    written out; shapes as in :func:`content_weights`. With z = β K and gradients g:

        g_z = w ⊙ (g_w − Σ_i g_w(i) w(i)),   g_β = Σ_i g_z(i) K(i),   g_K = β g_z
        g_k    = Σ_i g_K(i) M(i) / (‖k‖ ‖M(i)‖) − k Σ_i g_K(i) K(i) / ‖k‖²
        g_M(i) = Σ_h g_K,h(i) k_h / (‖k_h‖ ‖M(i)‖) − M(i) Σ_h g_K,h(i) K_h(i) / ‖M(i)‖²

    exact with the norms' ε inside their square roots. Differentiable once (no second
    derivatives).
    """

    @staticmethod
    def forward(ctx, keys: Tensor, memory: Tensor, strengths: Tensor) -> Tensor:
        similarity, key_norms, row_norms = _cosine_similarity_and_norms(keys, memory)
        weights = torch.softmax(strengths.unsqueeze(-1) * similarity, dim=-1)
        ctx.save_for_backward(keys, memory, strengths, weights, similarity, key_norms, row_norms)
        return weights

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_weights: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        keys, memory, strengths, weights, similarity, key_norms, row_norms = ctx.saved_tensors
        grad_z = _softmax_backward(weights, grad_weights)
        grad_strengths = (grad_z * similarity).sum(-1)
        grad_similarity = grad_z * strengths.unsqueeze(-1)
        grad_dots = grad_similarity / (key_norms.unsqueeze(-1) * row_norms.unsqueeze(-2))
        radial = grad_similarity * similarity  # g_K ⊙ K
        key_scale = (radial.sum(-1) / (key_norms * key_norms)).unsqueeze(-1)  # (B, H, 1)
        row_scale = (radial.sum(-2) / (row_norms * row_norms)).unsqueeze(-1)  # (B, N, 1)
        grad_keys = torch.bmm(grad_dots, memory) - keys * key_scale
        grad_memory = torch.bmm(grad_dots.transpose(1, 2), keys) - memory * row_scale
        return grad_keys, grad_memory, grad_strengths


def content_weights(
    keys: Tensor, memory: Tensor, strengths: Tensor, similarity: str = "cosine"
) -> Tensor:
    """Content addressing w^c_t(i) = softmax_i(β_t K[k_t, M_t(i)]) (NTM eq 5).

    keys:      (B, H, M) keys k_t.
    memory:    (B, N, M) memory M_t.
    strengths: (B, H) key strengths β_t ≥ 0.
    similarity: "cosine" (the paper's K) or "dot" (unnormalised k·M(i)).
    Returns (B, H, N) weights; each row sums to 1.

    Eagerly, the cosine version runs :class:`CosineContentWeights`, whose backward pass is
    written out; under ``torch.compile``, autograd's, which inductor fuses at least as well.
    """
    if similarity == "cosine":
        if not torch.compiler.is_compiling():
            return CosineContentWeights.apply(keys, memory, strengths)
        scores = cosine_similarity(keys, memory)
    elif similarity == "dot":
        scores = torch.einsum("bhm,bnm->bhn", keys, memory)
    else:
        raise ValueError(f"similarity must be one of {SIMILARITIES}, got {similarity!r}")
    return torch.softmax(strengths.unsqueeze(-1) * scores, dim=-1)


def interpolate(content_w: Tensor, prev_w: Tensor, gate: Tensor) -> Tensor:
    """Interpolation w^g_t = g_t w^c_t + (1 − g_t) w_{t−1} (NTM eq 7).

    content_w: (B, H, N) content weights w^c_t.
    prev_w:    (B, H, N) previous weights w_{t−1}.
    gate:      (B, H) interpolation gate g_t in [0, 1].
    Returns (B, H, N); a distribution when both inputs are.
    """
    gate = gate.unsqueeze(-1)
    return gate * content_w + (1.0 - gate) * prev_w


def shift_offsets(shift_width: int) -> range:
    """The shifts that a distribution of odd width S covers: −(S−1)/2 … (S−1)/2."""
    if shift_width < 1 or shift_width % 2 == 0:
        raise ValueError(f"the shift width must be a positive odd number, got {shift_width}")
    half = shift_width // 2
    return range(-half, half + 1)


def _rotated(weights: Tensor, offset: int) -> Tensor:
    """weights (..., N) moved ``offset`` slots up, i → i + offset mod N, as two slices: compiled,
    contiguous (vectorised) loads, where a gather through an index tensor loads slot by slot and
    its backward scatters; eagerly, a copy instead of a slower gather."""
    n = weights.shape[-1]
    cut = n - offset % n
    if cut == n:
        return weights
    return torch.cat([weights[..., cut:], weights[..., :cut]], -1)


def circular_shift(weights: Tensor, shift: Tensor) -> Tensor:
    """Rotation by a shift distribution, w̃_t(i) = Σ_j w^g_t(j) s_t(i − j mod N) (NTM eq 8).

    weights: (B, H, N) gated weights w^g_t.
    shift:   (B, H, S) shift distribution s_t over offsets −(S−1)/2 … (S−1)/2, S odd; entry
             k of the last axis is the probability of moving the focus by offset k − (S−1)/2.
    Returns (B, H, N). A one-hot shift on offset +1 moves every weight one slot up (i → i+1 mod N).
    """
    shifted = None
    for k, offset in enumerate(shift_offsets(shift.shape[-1])):
        term = shift[..., k : k + 1] * _rotated(weights, offset)
        shifted = term if shifted is None else shifted + term
    return shifted


def sharpen(weights: Tensor, gamma: Tensor) -> Tensor:
    """Sharpening w_t(i) = w̃_t(i)^γ / Σ_j w̃_t(j)^γ (NTM eq 9), computed in log space.

    weights: (B, H, N) shifted weights w̃_t ≥ 0.
    gamma:   (B, H) sharpening exponents γ_t ≥ 1.
    Returns (B, H, N) rows summing to 1. A softmax of γ log w̃ keeps large γ (50 and beyond)
    from underflowing every w̃^γ to zero.
    """
    logs = torch.log(weights.clamp_min(SHARPEN_EPS))
    return torch.softmax(gamma.unsqueeze(-1) * logs, dim=-1)


class LocationAddressing(torch.autograd.Function):
    """Interpolation, shift and sharpening (NTM eqs 7-9) in one function with its backward pass
    written out; arguments as in :func:`interpolate`, :func:`circular_shift` and :func:`sharpen`.
    Returns w_t (B, H, N) and, not differentiable, w^g_t and w̃_t (B, H, N) for tracing.

    With z = γ log max(w̃, ε), w = softmax(z) and gradients g (ε: ``SHARPEN_EPS``):

        g_z = w ⊙ (g_w − Σ_i g_w(i) w(i)),   g_γ = Σ_i g_z(i) log max(w̃(i), ε)
        g_w̃(i) = γ g_z(i) / w̃(i) where w̃(i) ≥ ε, else 0
        g_s(k) = Σ_i g_w̃(i) w^g(i − offset_k),   g_w^g(j) = Σ_k s(k) g_w̃(j + offset_k)
        g_g = Σ_j g_w^g(j) (w^c(j) − w_{t−1}(j)),   g_w^c = g g_w^g,   g_w_{t−1} = (1 − g) g_w^g

    Differentiable once (no second derivatives).
    """

    @staticmethod
    def forward(ctx, content_w, prev_w, gate, shift, gamma):
        gate = gate.unsqueeze(-1)
        gated = torch.lerp(prev_w, content_w, gate)
        offsets = shift_offsets(shift.shape[-1])
        rolled = torch.stack([_rotated(gated, offset) for offset in offsets], -2)  # (B, H, S, N)
        shifted = (shift.unsqueeze(-1) * rolled).sum(-2)
        floored = shifted.clamp_min(SHARPEN_EPS)
        logs = torch.log(floored)
        weights = torch.softmax(gamma.unsqueeze(-1) * logs, dim=-1)
        ctx.save_for_backward(
            content_w, prev_w, gate, shift, gamma, rolled, shifted, floored, logs, weights
        )
        ctx.mark_non_differentiable(gated, shifted)
        return weights, gated, shifted

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_weights, _grad_gated, _grad_shifted):
        content_w, prev_w, gate, shift, gamma, rolled, shifted, floored, logs, weights = (
            ctx.saved_tensors
        )
        grad_z = _softmax_backward(weights, grad_weights)
        grad_gamma = (grad_z * logs).sum(-1)
        # clamp_min passes the gradient where its input is at least the floor.
        grad_shifted = torch.where(
            shifted >= SHARPEN_EPS, grad_z * gamma.unsqueeze(-1) / floored, 0.0
        )
        grad_shift = (rolled * grad_shifted.unsqueeze(-2)).sum(-1)
        # The adjoint of a shift by s is the shift by s reversed: offset k moves by −offset_k.
        grad_gated = circular_shift(grad_shifted, shift.flip(-1))
        grad_gate = (grad_gated * (content_w - prev_w)).sum(-1)
        grad_content = gate * grad_gated
        return grad_content, grad_gated - grad_content, grad_gate, grad_shift, grad_gamma


def address(
    keys: Tensor,
    strengths: Tensor,
    gate: Tensor,
    shift: Tensor,
    gamma: Tensor,
    memory: Tensor,
    prev_w: Tensor,
    similarity: str = "cosine",
) -> tuple[Tensor, dict[str, Tensor]]:
    """The full NTM addressing pipeline (Fig 2): content → interpolation → shift → sharpen.

    Arguments as in :func:`content_weights`, :func:`interpolate`, :func:`circular_shift` and
    :func:`sharpen`. Returns the final (B, H, N) weights w_t and the intermediate weights
    (``content``, ``gated``, ``shifted``) for tracing; eagerly, ``gated`` and ``shifted`` are
    not differentiable.

    Eagerly, the addressing runs the two functions whose backward passes are written out
    (:class:`CosineContentWeights`, :class:`LocationAddressing`): forward + backward in about
    0.8x autograd's time at the copy NTM's sizes (``benchmarks/addressing_backward.py``).
    Compiled, it runs the composite functions above, which inductor fuses at least as well.
    """
    w_c = content_weights(keys, memory, strengths, similarity)
    if torch.compiler.is_compiling():
        w_g = interpolate(w_c, prev_w, gate)
        w_s = circular_shift(w_g, shift)
        w = sharpen(w_s, gamma)
    else:
        w, w_g, w_s = LocationAddressing.apply(w_c, prev_w, gate, shift, gamma)
    return w, {"content": w_c, "gated": w_g, "shifted": w_s}


def read(memory: Tensor, weights: Tensor) -> Tensor:
    """Read vectors r_t = Σ_i w_t(i) M_t(i) (NTM eq 2).

    memory:  (B, N, M).
    weights: (B, H, N) read weights, one row per read head.
    Returns (B, H, M).
    """
    return torch.einsum("bhn,bnm->bhm", weights, memory)


def erase_and_write(memory: Tensor, weights: Tensor, erase: Tensor, add: Tensor) -> Tensor:
    """Erase then add (NTM eqs 3-4), for any number of write heads.

    M̃_t(i) = M_{t−1}(i) Π_h [1 − w^h_t(i) e^h_t];  M_t(i) = M̃_t(i) + Σ_h w^h_t(i) a^h_t.
    The erases multiply, so the order of the heads does not matter (§3.2).

    memory:  (B, N, M) M_{t−1}.
    weights: (B, H, N) write weights w_t.
    erase:   (B, H, M) erase vectors e_t in [0, 1].
    add:     (B, H, M) add vectors a_t.
    Returns (B, N, M) M_t.
    """
    if weights.shape[1] == 1:
        w = weights[:, 0].unsqueeze(-1)  # (B, N, 1)
        return memory * (1.0 - w * erase[:, 0].unsqueeze(1)) + w * add[:, 0].unsqueeze(1)
    keep = torch.prod(1.0 - weights.unsqueeze(-1) * erase.unsqueeze(2), dim=1)  # (B, N, M)
    return memory * keep + torch.einsum("bhn,bhm->bnm", weights, add)


# --- Attention over a sequence of encoder states -------------------------------------------------


def masked_softmax(scores: Tensor, mask: Tensor | None = None, dim: int = -1) -> Tensor:
    """α = softmax(e) over the positions that ``mask`` keeps; exactly 0 on the others.

    scores: (..., S) alignment scores e.
    mask:   boolean or 0/1 float tensor broadcastable to ``scores``, true (non-zero) on the
            positions that may be attended; None keeps every position.
    Returns weights of the shape of ``scores`` that sum to 1 along ``dim``; a row whose every
    kept score is −∞ gets uniform weights over its kept positions.
    Raises ``ValueError`` when the mask does not broadcast to the scores or leaves a row with
    no position at all (a softmax over nothing has no value; it would otherwise be NaN).
    """
    if mask is None:
        return torch.softmax(_uniform_where_all_neginf(scores, dim), dim=dim)
    try:
        shape = torch.broadcast_shapes(mask.shape, scores.shape)
    except RuntimeError:
        shape = None
    if shape != scores.shape:
        raise ValueError(
            f"the mask of shape {tuple(mask.shape)} does not broadcast to the scores' shape "
            f"{tuple(scores.shape)}"
        )
    keep = (mask if mask.dtype == torch.bool else mask != 0).expand(scores.shape)
    if not bool(keep.any(dim).all()):
        raise ValueError(
            "masked_softmax got a row whose every position is masked; each row needs at least "
            "one unmasked position (is a sequence of length 0 in the batch?)"
        )
    masked = scores.masked_fill(~keep, float("-inf"))
    return torch.softmax(_uniform_where_all_neginf(masked, dim, keep), dim=dim)


def _uniform_where_all_neginf(scores: Tensor, dim: int, keep: Tensor | None = None) -> Tensor:
    """``scores`` with each row whose every kept score is −∞ set to 0 on the kept positions:
    the softmax of such a row (the limit of equal scores falling together) is uniform over
    them instead of 0/0 = NaN."""
    dead = torch.isneginf(scores).all(dim, keepdim=True)
    fill = dead if keep is None else dead & keep
    return torch.where(fill, torch.zeros((), dtype=scores.dtype, device=scores.device), scores)


def additive_scores(projected_query: Tensor, projected_keys: Tensor, v: Tensor) -> Tensor:
    """Additive (Bahdanau 2014, eq 6; Luong's "concat") scores e_j = v_aᵀ tanh(W_a s + U_a h_j).

    The projections are arguments, so the function holds no parameters.
    projected_query: (..., A) W_a s_{i−1}, the projected query.
    projected_keys:  (..., S, A) U_a h_j, the projected keys (computed once per source).
    v:               (A,) the vector v_a.
    Returns (..., S) scores.
    """
    return torch.tanh(projected_query.unsqueeze(-2) + projected_keys) @ v


def dot_scores(query: Tensor, keys: Tensor) -> Tensor:
    """Dot scores (Luong 2015, eq 8) e_s = h_tᵀ h̄_s.

    query: (..., D) h_t.
    keys:  (..., S, D) h̄_s.
    Returns (..., S) scores.
    """
    return (keys @ query.unsqueeze(-1)).squeeze(-1)


def general_scores(query: Tensor, keys: Tensor, weight: Tensor) -> Tensor:
    """General scores (Luong 2015, eq 8) e_s = h_tᵀ W_a h̄_s.

    query:  (..., Dq) h_t.
    keys:   (..., S, Dk) h̄_s.
    weight: (Dq, Dk) W_a.
    Returns (..., S) scores.
    """
    return dot_scores(query, keys @ weight.transpose(0, 1))


def scaled_dot_scores(query: Tensor, keys: Tensor) -> Tensor:
    """Scaled dot scores (Vaswani et al. 2017, eq 1) e_s = qᵀ k_s / √D.

    query: (..., D) q.
    keys:  (..., S, D) k_s.
    Returns (..., S) scores.
    """
    return dot_scores(query, keys) / math.sqrt(query.shape[-1])


def attend(weights: Tensor, values: Tensor) -> Tensor:
    """The context c = Σ_j α_j h_j (Bahdanau 2014, eq 5).

    weights: (..., S) attention weights α.
    values:  (..., S, Dv) the attended states h_j.
    Returns (..., Dv).
    """
    return (weights.unsqueeze(-2) @ values).squeeze(-2)


def source_positions(centre: Tensor, length: int) -> Tensor:
    """s − p_t for every source position s = 0 … length−1: (...,) centres -> (..., length)."""
    positions = torch.arange(length, device=centre.device, dtype=centre.dtype)
    return positions - centre.unsqueeze(-1)


def local_window_mask(centre: Tensor, length: int, window: int) -> Tensor:
    """Luong's (2015, §3.2) local window [p_t − D, p_t + D] as a mask over source positions.

    centre: (...,) aligned positions p_t (real-valued; positions count from 0).
    length: S, the number of source positions.
    window: D ≥ 0, the half-width.
    Returns a (..., S) boolean mask, true where |s − p_t| ≤ D.
    """
    if window < 0:
        raise ValueError(f"the local window D must be >= 0, got {window}")
    return source_positions(centre, length).abs() <= window


def gaussian_window(centre: Tensor, length: int, window: int) -> Tensor:
    """Luong's (2015, eq 10) local-p factor exp(−(s − p_t)² / 2σ²) with σ = D/2.

    centre: (...,) aligned positions p_t (differentiable).
    length: S, the number of source positions.
    window: D ≥ 1, the half-width of the window.
    Returns (..., S) factors in (0, 1], 1 at s = p_t.
    """
    if window < 1:
        raise ValueError(f"the local window D must be >= 1, got {window}")
    sigma = window / 2.0
    return torch.exp(-source_positions(centre, length).pow(2) / (2.0 * sigma**2))
