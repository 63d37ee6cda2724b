"""Addressing maths shared by every augmentation: distributions over positions and weighted sums.

Pure functions of tensors, following the Neural Turing Machine paper (Graves, Wayne & Danihelka
2014, §3.1-3.3, eqs 2-9). Shapes use B for the batch, H for heads, N for memory slots, M for the
width of a slot and S for the width of the shift distribution. Every head dimension may hold any
number of heads, so one call addresses all heads of a kind at once.
"""

from __future__ import annotations

import torch
from torch import Tensor

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
    dots = torch.einsum("bhm,bnm->bhn", keys, memory)
    key_norms = torch.sqrt((keys * keys).sum(-1) + NORM_EPS)  # (B, H)
    row_norms = torch.sqrt((memory * memory).sum(-1) + NORM_EPS)  # (B, N)
    return dots / (key_norms.unsqueeze(-1) * row_norms.unsqueeze(-2))


def content_weights(
    keys: Tensor, memory: Tensor, strengths: Tensor, similarity: str = "cosine"
) -> Tensor:
    """Content addressing w^c_t(i) = softmax_i(β_t K[k_t, M_t(i)]) (NTM eq 5).

    keys:      (B, H, M) keys k_t.
    memory:    (B, N, M) memory M_t.
    strengths: (B, H) key strengths β_t ≥ 0.
    similarity: "cosine" (the paper's K) or "dot" (unnormalised k·M(i)).
    Returns (B, H, N) weights; each row sums to 1.
    """
    if similarity == "cosine":
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


def circular_shift(weights: Tensor, shift: Tensor) -> Tensor:
    """Rotation by a shift distribution, w̃_t(i) = Σ_j w^g_t(j) s_t(i − j mod N) (NTM eq 8).

    weights: (B, H, N) gated weights w^g_t.
    shift:   (B, H, S) shift distribution s_t over offsets −(S−1)/2 … (S−1)/2, S odd; entry
             k of the last axis is the probability of moving the focus by offset k − (S−1)/2.
    Returns (B, H, N). A one-hot shift on offset +1 moves every weight one slot up (i → i+1 mod N).
    """
    n = weights.shape[-1]
    offsets = torch.tensor(list(shift_offsets(shift.shape[-1])), device=weights.device)
    # source[k, i] = (i − offset_k) mod N: the slot that offset k carries into slot i.
    source = (torch.arange(n, device=weights.device).unsqueeze(0) - offsets.unsqueeze(1)) % n
    rolled = weights[..., source]  # (B, H, S, N)
    return torch.einsum("bhsn,bhs->bhn", rolled, shift)


def sharpen(weights: Tensor, gamma: Tensor) -> Tensor:
    """Sharpening w_t(i) = w̃_t(i)^γ / Σ_j w̃_t(j)^γ (NTM eq 9), computed in log space.

    weights: (B, H, N) shifted weights w̃_t ≥ 0.
    gamma:   (B, H) sharpening exponents γ_t ≥ 1.
    Returns (B, H, N) rows summing to 1. A softmax of γ log w̃ keeps large γ (50 and beyond)
    from underflowing every w̃^γ to zero.
    """
    logs = torch.log(weights.clamp_min(SHARPEN_EPS))
    return torch.softmax(gamma.unsqueeze(-1) * logs, dim=-1)


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
    (``content``, ``gated``, ``shifted``) for tracing.
    """
    w_c = content_weights(keys, memory, strengths, similarity)
    w_g = interpolate(w_c, prev_w, gate)
    w_s = circular_shift(w_g, shift)
    w = sharpen(w_s, gamma)
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
