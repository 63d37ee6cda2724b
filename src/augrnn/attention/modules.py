"""Attention modules: parameters around the pure scoring functions of :mod:`augrnn.addressing`.

Every module maps one query per sequence onto S source positions:

    context, weights = attention(query, keys, values, mask)

query (B, Hq), keys (B, S, Hk), values (B, S, Hv), mask (B, S) boolean or 0/1 float (true on the
positions that may be attended; None for all) -> context (B, Hv), weights (B, S). Masked positions
get exactly zero weight. A decoder that attends to the same keys at every step computes
``attention.project_keys(keys)`` once and passes it as ``projected_keys``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from augrnn import addressing
from augrnn.core import emit
from augrnn.settings import check_integers

LUONG_SCORES = ("dot", "general", "concat")


class Attention(nn.Module):
    """Base class: checks shapes, scores, normalises over the unmasked positions and attends.

    Subclasses implement :meth:`score` and may override :meth:`project_keys` (a key-side
    transform that does not depend on the query) and :meth:`normalise`.
    """

    def __init__(self, query_size: int, key_size: int):
        super().__init__()
        check_integers(type(self).__name__, query_size=query_size, key_size=key_size)
        if query_size < 1 or key_size < 1:
            raise ValueError(
                f"{type(self).__name__} needs positive query_size and key_size, got "
                f"{query_size} and {key_size}"
            )
        self.query_size = query_size
        self.key_size = key_size

    def project_keys(self, keys: Tensor) -> Tensor:
        """The query-independent part of the scores, (B, S, Hk) -> (B, S, ·)."""
        return keys

    def score(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        """(B, Hq) query and projected keys -> (B, S) scores."""
        raise NotImplementedError

    def normalise(self, scores: Tensor, mask: Tensor | None, query: Tensor) -> Tensor:
        """(B, S) scores -> (B, S) weights; by default a softmax over the unmasked positions."""
        return addressing.masked_softmax(scores, mask)

    def forward(
        self,
        query: Tensor,
        keys: Tensor,
        values: Tensor,
        mask: Tensor | None = None,
        *,
        projected_keys: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        mask = self.check_inputs(query, keys, values, mask)
        if projected_keys is None:
            projected_keys = self.project_keys(keys)
        weights = self.normalise(self.score(query, projected_keys), mask, query)
        return addressing.attend(weights, values), weights

    def check_inputs(
        self, query: Tensor, keys: Tensor, values: Tensor, mask: Tensor | None
    ) -> Tensor | None:
        """Raise ``ValueError`` on mismatched shapes; return the mask as booleans."""
        name = type(self).__name__
        if query.dim() != 2 or query.shape[1] != self.query_size:
            raise ValueError(
                f"{name} expects a query of shape (batch, {self.query_size}), "
                f"got {tuple(query.shape)}"
            )
        batch = query.shape[0]
        if keys.dim() != 3 or keys.shape[0] != batch or keys.shape[2] != self.key_size:
            raise ValueError(
                f"{name} expects keys of shape ({batch}, source length, {self.key_size}), "
                f"got {tuple(keys.shape)}"
            )
        length = keys.shape[1]
        if values.dim() != 3 or values.shape[:2] != keys.shape[:2]:
            raise ValueError(
                f"{name} expects values of shape ({batch}, {length}, value size) to match the "
                f"keys, got {tuple(values.shape)}"
            )
        if mask is None:
            return None
        if tuple(mask.shape) != (batch, length):
            raise ValueError(
                f"{name} expects a mask of shape (batch, source length) = ({batch}, {length}), "
                f"got {tuple(mask.shape)}"
            )
        return mask if mask.dtype == torch.bool else mask != 0


class AdditiveAttention(Attention):
    """Bahdanau, Cho & Bengio (2014) attention: e_j = v_aᵀ tanh(W_a s + U_a h_j), α = softmax(e).

    ``attention_size`` is the width A of W_a s and U_a h_j (default: ``query_size``).
    """

    def __init__(self, query_size: int, key_size: int, attention_size: int | None = None):
        super().__init__(query_size, key_size)
        size = attention_size or query_size
        self.query_projection = nn.Linear(query_size, size, bias=False)  # W_a
        self.key_projection = nn.Linear(key_size, size)  # U_a (its bias is the score's bias)
        self.v = nn.Parameter(torch.empty(size).uniform_(-(size**-0.5), size**-0.5))  # v_a

    def project_keys(self, keys: Tensor) -> Tensor:
        return self.key_projection(keys)

    def score(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        return addressing.additive_scores(self.query_projection(query), projected_keys, self.v)


class LuongAttention(Attention):
    """Luong, Pham & Manning (2015) attention with the score ``"dot"`` (h_tᵀ h̄_s), ``"general"``
    (h_tᵀ W_a h̄_s) or ``"concat"`` (v_aᵀ tanh(W_a [h_t; h̄_s]), computed as the additive form
    W_a [h_t; h̄_s] = W_q h_t + W_k h̄_s).

    ``local_window = D`` turns on local-p attention (§3.2): the aligned position
    p_t = S·σ(v_pᵀ tanh(W_p h_t)) with S the sequence's own length (its number of unmasked
    positions), a softmax over the positions within [p_t − D, p_t + D], and the weights times
    exp(−(s − p_t)²/2σ²), σ = D/2. As in the paper they are not renormalised, so local-p weights
    sum to at most 1; outside the window they are exactly 0. The aligned positions p_t are
    emitted as ``"attention_position"`` into the active Trace.
    """

    def __init__(
        self,
        query_size: int,
        key_size: int,
        score: str = "general",
        local_window: int | None = None,
        attention_size: int | None = None,
    ):
        super().__init__(query_size, key_size)
        if score not in LUONG_SCORES:
            raise ValueError(f"LuongAttention score must be one of {LUONG_SCORES}, got {score!r}")
        if score == "dot" and query_size != key_size:
            raise ValueError(
                f"dot attention needs query_size == key_size, got {query_size} and {key_size}"
            )
        if local_window is not None and local_window < 1:
            raise ValueError(f"local_window must be a positive integer, got {local_window}")
        self.score_name = score
        self.local_window = local_window
        size = attention_size or query_size
        if score == "general":
            self.weight = nn.Linear(key_size, query_size, bias=False)  # W_a
        elif score == "concat":
            self.concat = AdditiveAttention(query_size, key_size, size)
        if local_window is not None:
            self.position_projection = nn.Linear(query_size, size, bias=False)  # W_p
            self.position_v = nn.Linear(size, 1, bias=False)  # v_p

    def project_keys(self, keys: Tensor) -> Tensor:
        if self.score_name == "general":
            return self.weight(keys)  # W_a h̄_s, so that h_tᵀ (W_a h̄_s) is a dot product
        if self.score_name == "concat":
            return self.concat.project_keys(keys)
        return keys

    def score(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        if self.score_name == "concat":
            return self.concat.score(query, projected_keys)
        return addressing.dot_scores(query, projected_keys)

    def aligned_position(self, query: Tensor, lengths: Tensor) -> Tensor:
        """p_t = S·σ(v_pᵀ tanh(W_p h_t)): (B, Hq) queries, (B,) lengths S -> (B,) positions."""
        logit = self.position_v(torch.tanh(self.position_projection(query))).squeeze(-1)
        return lengths.to(query.dtype) * torch.sigmoid(logit)

    def normalise(self, scores: Tensor, mask: Tensor | None, query: Tensor) -> Tensor:
        if self.local_window is None:
            return addressing.masked_softmax(scores, mask)
        batch, length = scores.shape
        if mask is None:
            mask = torch.ones(batch, length, dtype=torch.bool, device=scores.device)
        centre = self.aligned_position(query, mask.sum(-1))
        emit("attention_position", centre)
        # With D ≥ 1 and p_t in (0, S) the window always holds a real position.
        window = mask & addressing.local_window_mask(centre.detach(), length, self.local_window)
        align = addressing.masked_softmax(scores, window)
        return align * addressing.gaussian_window(centre, length, self.local_window)


class ScaledDotAttention(Attention):
    """Scaled dot-product attention (Vaswani et al. 2017): α = softmax(qᵀk_s / √D).

    With ``attention_size`` the query and the keys are first projected to that width by learned
    maps (q = W_Q h_t, k_s = W_K h̄_s); without it they must have the same width and the module
    has no parameters.
    """

    def __init__(self, query_size: int, key_size: int, attention_size: int | None = None):
        super().__init__(query_size, key_size)
        if attention_size is None and query_size != key_size:
            raise ValueError(
                "ScaledDotAttention without attention_size needs query_size == key_size, got "
                f"{query_size} and {key_size}"
            )
        projected = attention_size is not None
        self.query_projection = (
            nn.Linear(query_size, attention_size, bias=False) if projected else None
        )  # W_Q
        self.key_projection = (
            nn.Linear(key_size, attention_size, bias=False) if projected else None
        )  # W_K

    def project_keys(self, keys: Tensor) -> Tensor:
        return keys if self.key_projection is None else self.key_projection(keys)

    def score(self, query: Tensor, projected_keys: Tensor) -> Tensor:
        if self.query_projection is not None:
            query = self.query_projection(query)
        return addressing.scaled_dot_scores(query, projected_keys)


class LocationAwareAttention(AdditiveAttention):
    """Chorowski et al. (2015) location-aware attention: the additive score with convolutional
    features of the previous alignment,

        f_i = F * α_{i−1},   e_{i,j} = wᵀ tanh(W s_i + V h_j + U f_{i,j} + b),   α_i = softmax(e_i)

    (their eqs 5-9), F being ``channels`` filters of width ``kernel_size`` (odd) run along the
    source. ``forward`` takes the previous alignment α_{i−1} (B, S) as ``previous``; without it
    (or with zeros) the location term is 0 and the score is :class:`AdditiveAttention`'s.
    """

    def __init__(
        self,
        query_size: int,
        key_size: int,
        attention_size: int | None = None,
        channels: int = 10,
        kernel_size: int = 31,
    ):
        super().__init__(query_size, key_size, attention_size)
        check_integers("LocationAwareAttention", channels=channels, kernel_size=kernel_size)
        if channels < 1 or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(
                "LocationAwareAttention needs channels >= 1 and an odd kernel_size >= 1, got "
                f"{channels} and {kernel_size}"
            )
        size = attention_size or query_size
        self.location_filters = nn.Conv1d(1, channels, kernel_size, padding=kernel_size // 2)  # F
        self.location_projection = nn.Linear(channels, size, bias=False)  # U

    def location_features(self, previous: Tensor) -> Tensor:
        """(B, S) previous alignment -> (B, S, A) U f_{i,j}."""
        filtered = self.location_filters(previous.unsqueeze(1))  # (B, channels, S)
        return self.location_projection(filtered.transpose(1, 2))

    def forward(
        self,
        query: Tensor,
        keys: Tensor,
        values: Tensor,
        mask: Tensor | None = None,
        *,
        projected_keys: Tensor | None = None,
        previous: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        self.check_inputs(query, keys, values, mask)
        if projected_keys is None:
            projected_keys = self.project_keys(keys)
        if previous is not None:
            if previous.shape != keys.shape[:2]:
                raise ValueError(
                    f"the previous alignment must have shape (batch, source length) = "
                    f"{tuple(keys.shape[:2])}, got {tuple(previous.shape)}"
                )
            projected_keys = projected_keys + self.location_features(previous)
        return super().forward(query, keys, values, mask, projected_keys=projected_keys)
