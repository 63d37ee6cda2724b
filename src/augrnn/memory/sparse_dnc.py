"""The sparse DNC's addressing: each head reads and writes a few slots of an N-slot memory, so that
a step costs O(N) scans without gradients plus O(K) differentiable work (Rae et al. 2016,
"Scaling memory-augmented neural networks with sparse reads and writes", SAM and the sparse DNC;
the DNC's own sparse link matrix, Graves et al. 2016, Methods).

Shapes: B episodes, N slots, W slot width, R read heads, K = ``sparse_reads`` slots per head,
K_L = ``sparse_links`` entries kept per row and column of the link matrix. A sparse weighting is
a pair (slots, values): slots (..., n) int64 indices into the N slots and values (..., n) ≥ 0; a
slot may appear more than once, and its weight is the sum of its entries (padding entries carry
weight 0).

What is sparse, and what each step costs:

- content weightings: β-sharpened softmax of the cosine similarity over the K most similar slots
  (:func:`content_weights`); the scan that finds them runs without gradients, the K chosen rows
  are gathered and differentiated.
- allocation: the paper's eq. 1 over the K least used slots (:func:`allocation_weights`), found by
  ``torch.topk`` instead of a sort of all N.
- usage: the DNC's usage update applied to the slots written or read at t − 1 only, the rest
  being unchanged by it (ψ = 1 and w^w = 0 there).
- write weighting: allocation and content weightings over ≤ 2K slots, written as row deltas.
- temporal links: the DNC's update L_t[i, j] = (1 − w_i − w_j) L_{t−1}[i, j] + w_i p_{t−1}[j]
  applied to the rows and columns it changes, each row of L and of Lᵀ keeping its K_L largest
  entries (the DNC paper's sparse link; it found K_L = 8 sufficient); precedence keeps its K_L
  largest entries.
- read weightings: the K largest entries of π_b b + π_c c + π_f f.

With K = K_L = N nothing is dropped and every weighting equals the dense DNC's.

The memory, usage and link rows live in tensors updated in place (:class:`RowStore` functions):
the backward pass of a gather scatters its gradient back, and a write passes its gradient
through, so backpropagation through time keeps the O(K) rows each step touched, not a copy of
the memory per step (SAM's point).
"""

from __future__ import annotations

import torch
from torch import Tensor

from augrnn.addressing import NORM_EPS
from augrnn.memory.dnc_addressing import USAGE_EPS

#: Stores of at most this many elements get dense gradients (cheaper than sparse ones when the
#: store is small); larger ones sparse gradients holding the gathered rows only.
DENSE_GRADIENT_ELEMENTS = 1 << 18


class _GatherRows(torch.autograd.Function):
    """rows = store.view(B·N, ...)[flat]; the backward pass gives a large store a sparse gradient
    (the gathered rows only), so a step's backward pass costs O(K), not O(N)."""

    @staticmethod
    def forward(ctx, store: Tensor, flat: Tensor) -> Tensor:
        ctx.save_for_backward(flat)
        ctx.store_shape = store.shape
        return store.reshape(-1, *store.shape[2:]).index_select(0, flat)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        (flat,) = ctx.saved_tensors
        shape = ctx.store_shape
        if shape.numel() <= DENSE_GRADIENT_ELEMENTS:
            dense = grad.new_zeros((shape[0] * shape[1], *shape[2:]))
            return dense.index_add_(0, flat, grad).view(shape), None
        rows = flat // shape[1]
        slots = flat - rows * shape[1]
        sparse = torch.sparse_coo_tensor(
            torch.stack([rows, slots]), grad, shape, check_invariants=False
        )
        return sparse, None


class _AddRows(torch.autograd.Function):
    """store.view(B·N, ...)[flat] += delta, in place (the store is marked dirty)."""

    @staticmethod
    def forward(ctx, store: Tensor, flat: Tensor, delta: Tensor) -> Tensor:
        ctx.save_for_backward(flat)
        store.view(-1, *store.shape[2:]).index_add_(0, flat, delta.to(store.dtype))
        ctx.mark_dirty(store)
        return store

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, Tensor]:
        (flat,) = ctx.saved_tensors
        if grad.is_sparse:
            return grad, None, _sparse_rows(grad, flat)
        return grad, None, grad.reshape(-1, *grad.shape[2:]).index_select(0, flat)


def _sparse_rows(grad: Tensor, flat: Tensor) -> Tensor:
    """The rows flat (M,) of the (B, N, *D) sparse gradient grad, as a dense (M, *D) tensor."""
    grad = grad.coalesce()
    n = grad.shape[1]
    indices = grad.indices()
    keys = indices[0] * n + indices[1]  # sorted, distinct: coalesced
    values = grad.values()
    position = torch.searchsorted(keys, flat).clamp_max(max(keys.numel() - 1, 0))
    if keys.numel() == 0:
        return values.new_zeros((flat.numel(), *values.shape[1:]))
    found = keys[position] == flat
    rows = values[position]
    return rows * found.view(-1, *([1] * (rows.dim() - 1)))


def _flat(store: Tensor, slots: Tensor) -> Tensor:
    """Indices into store.view(B·N, ...) of slots (B, ...) (int), flattened."""
    batch, n = store.shape[0], store.shape[1]
    offsets = torch.arange(0, batch * n, n, device=slots.device)
    return (slots.reshape(batch, -1) + offsets.unsqueeze(-1)).reshape(-1)


def gather_rows(store: Tensor, slots: Tensor) -> Tensor:
    """store (B, N, *D) at slots (B, *S): (B, *S, *D), differentiable with respect to the store's
    rows without saving the store."""
    flat = _flat(store, slots)
    if store.requires_grad:
        rows = _GatherRows.apply(store, flat)
    else:
        rows = store.reshape(-1, *store.shape[2:]).index_select(0, flat)
    return rows.view(*slots.shape, *store.shape[2:])


def add_rows(store: Tensor, slots: Tensor, delta: Tensor) -> Tensor:
    """store[b, slots[b, s]] += delta[b, s] in place; slots (B, *S), delta (B, *S, *D). Repeated
    slots add up, so a "set" is written as the delta of new and old rows, and a padding entry as
    a zero delta. Returns the store."""
    flat = _flat(store, slots)
    delta = delta.reshape(flat.shape[0], *store.shape[2:])
    if delta.requires_grad or store.requires_grad:
        return _AddRows.apply(store, flat, delta)
    store.view(-1, *store.shape[2:]).index_add_(0, flat, delta.to(store.dtype))
    return store


def first_occurrences(slots: Tensor) -> tuple[Tensor, Tensor]:
    """slots (..., n) sorted along the last dimension, and a mask (..., n) true at the first
    entry of each distinct slot (a sort, so O(n log n) rather than O(n²) comparisons)."""
    ordered, _, first = _sorted_with_firsts(slots)
    return ordered, first


def _sorted_with_firsts(slots: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """slots sorted along the last dimension, the sorting permutation, and the mask of each
    distinct slot's first entry in the sorted order."""
    ordered, order = slots.sort(-1)
    first = torch.ones_like(ordered, dtype=torch.bool)
    first[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    return ordered, order, first


def merge(slots: Tensor, values: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """The k largest entries of a sparse weighting whose repeated slots are first summed.

    slots:  (..., n) int64 slot indices, possibly repeated.
    values: (..., n) weights (differentiable).
    k:      entries to keep, k ≤ n.
    Returns (slots, values), each (..., k); where fewer than k distinct slots exist, the rest are
    repeats of kept slots with value 0.
    """
    ordered, order, first = _sorted_with_firsts(slots)
    ordered_values = values.gather(-1, order)
    group = first.long().cumsum(-1) - 1
    totals = torch.zeros_like(ordered_values).scatter_add(-1, group, ordered_values)
    summed = totals.gather(-1, group) * first
    key = summed.detach().masked_fill(~first, float("-inf"))
    top = key.topk(k, dim=-1).indices
    return ordered.gather(-1, top), summed.gather(-1, top)


def lookup(slots: Tensor, values: Tensor, query: Tensor) -> Tensor:
    """The weight a sparse weighting (slots, values) (B, n) gives each of query (B, *Q) slots:
    (B, *Q), 0 where it has none."""
    batch = query.shape[0]
    hits = query.reshape(batch, -1, 1) == slots.unsqueeze(1)
    found = (hits * values.unsqueeze(1)).sum(-1)
    return found.view(query.shape)


def scatter_dense(slots: Tensor, values: Tensor, n: int) -> Tensor:
    """A sparse weighting (..., k) as a dense one (..., n) (for views and tests)."""
    return values.new_zeros(*values.shape[:-1], n).scatter_add(-1, slots, values)


def content_weights(
    keys: Tensor, memory: Tensor, strengths: Tensor, k: int
) -> tuple[Tensor, Tensor]:
    """Sparse content addressing: softmax_i(β K[k, M(i)]) over the k slots most similar to each
    key (K the cosine similarity of :func:`augrnn.addressing.cosine_similarity`).

    keys:      (B, H, W) keys.
    memory:    (B, N, W) memory, read through :func:`gather_rows` only.
    strengths: (B, H) key strengths β ≥ 1.
    Returns (slots (B, H, k), weights (B, H, k)); each row of weights sums to 1.
    """
    with torch.no_grad():
        # The key's norm does not change the ranking; the rows' norms are a reduction without
        # a (B, N, W) temporary.
        row_norms = torch.sqrt(torch.linalg.vector_norm(memory, dim=-1).square_().add_(NORM_EPS))
        scores = torch.bmm(keys, memory.transpose(1, 2)).div_(row_norms.unsqueeze(1))
        slots = scores.topk(k, dim=-1).indices
    rows = gather_rows(memory, slots)
    dots = (rows * keys.unsqueeze(2)).sum(-1)
    key_norms = torch.sqrt((keys * keys).sum(-1) + NORM_EPS)
    row_norms = torch.sqrt((rows * rows).sum(-1) + NORM_EPS)
    similarity = dots / (key_norms.unsqueeze(-1) * row_norms)
    return slots, torch.softmax(strengths.unsqueeze(-1) * similarity, dim=-1)


def least_used(usage: Tensor, k: int) -> Tensor:
    """The k least used slots (B, k), least used first. With k = N, a stable sort (ties in slot
    order), the same order the dense allocation uses; otherwise ``torch.topk``, O(N)."""
    with torch.no_grad():
        if k == usage.shape[-1]:
            return torch.sort(usage, dim=-1, stable=True).indices
        return usage.topk(k, dim=-1, largest=False, sorted=True).indices


def allocation_weights(usage: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """The allocation weighting (the DNC's eq. 1) over the k least used slots:
    a[φ_j] = (1 − u[φ_j]) Π_{i<j} u[φ_j] for j ≤ k, 0 elsewhere (the slots beyond the k-th get
    at most Π_{i≤k} u[φ_i] in the dense DNC).

    usage: (B, N) usage u_t in [0, 1], read through :func:`gather_rows`.
    Returns (slots (B, k), weights (B, k)).
    """
    slots = least_used(usage, k)
    used = gather_rows(usage, slots)
    used = USAGE_EPS + (1.0 - USAGE_EPS) * used
    ones = torch.ones_like(used[..., :1])
    before = torch.cumprod(torch.cat([ones, used[..., :-1]], dim=-1), dim=-1)
    return slots, (1.0 - used) * before


def update_usage(
    usage: Tensor,
    prev_write: tuple[Tensor, Tensor],
    prev_reads: tuple[Tensor, Tensor],
    free_gates: Tensor,
) -> Tensor:
    """The DNC's usage update u_t = (u_{t−1} + w^w_{t−1} − u_{t−1} ∘ w^w_{t−1}) ∘ ψ_t, with
    ψ_t = Π_i (1 − f^i_t w^{r,i}_{t−1}), applied in place to the slots the previous step wrote or
    read (elsewhere w^w_{t−1} = 0 and ψ_t = 1, so usage is unchanged).

    usage:      (B, N) usage u_{t−1}, updated in place to u_t.
    prev_write: (slots (B, n), weights (B, n)) w^w_{t−1} (the DNC passes them detached: usage
                carries no gradient back into the write weighting).
    prev_reads: (slots (B, R, K), weights (B, R, K)) w^{r,i}_{t−1}.
    free_gates: (B, R) free gates f^i_t.
    Returns the usage tensor.
    """
    batch = usage.shape[0]
    write_slots, write_values = prev_write
    read_slots, read_values = prev_reads
    touched, first = first_occurrences(
        torch.cat([write_slots, read_slots.reshape(batch, -1)], dim=-1)
    )
    kept = 1.0 - free_gates.unsqueeze(-1) * read_values  # (B, R, K)
    hits = touched.unsqueeze(-1) == read_slots.reshape(batch, 1, -1)
    psi = torch.where(hits, kept.reshape(batch, 1, -1), torch.ones_like(kept).reshape(batch, 1, -1))
    psi = psi.prod(-1)
    written = lookup(write_slots, write_values, touched)
    old = gather_rows(usage, touched)
    new = (old + written - old * written) * psi
    return add_rows(usage, touched, (new - old) * first)


def write_weights(
    allocation: tuple[Tensor, Tensor],
    content: tuple[Tensor, Tensor],
    allocation_gate: Tensor,
    write_gate: Tensor,
) -> tuple[Tensor, Tensor]:
    """w^w_t = g^w_t [g^a_t a_t + (1 − g^a_t) c^w_t] (the DNC's eq. 2) as a sparse weighting over
    the allocation's and the content weighting's slots.

    allocation: (slots (B, k), weights (B, k)).
    content:    (slots (B, k), weights (B, k)).
    allocation_gate, write_gate: (B,) in [0, 1].
    Returns (slots (B, 2k), weights (B, 2k)), each slot once (repeats carry 0).
    """
    g_a, g_w = allocation_gate.unsqueeze(-1), write_gate.unsqueeze(-1)
    slots = torch.cat([allocation[0], content[0]], dim=-1)
    values = torch.cat([g_w * g_a * allocation[1], g_w * (1.0 - g_a) * content[1]], dim=-1)
    return merge(slots, values, slots.shape[-1])


def write(memory: Tensor, weights: tuple[Tensor, Tensor], erase: Tensor, vector: Tensor) -> Tensor:
    """M_t = M_{t−1} ∘ (E − w^w_t e_tᵀ) + w^w_t v_tᵀ on the written rows, in place.

    memory:  (B, N, W), updated in place.
    weights: (slots (B, n), weights (B, n)) w^w_t, each slot once (repeats carry 0).
    erase:   (B, W) erase vector e_t; vector: (B, W) write vector v_t.
    Returns the memory tensor.
    """
    slots, values = weights
    old = gather_rows(memory, slots)
    w = values.unsqueeze(-1)
    delta = w * (vector.unsqueeze(1) - old * erase.unsqueeze(1))
    return add_rows(memory, slots, delta)


def update_precedence(
    precedence: tuple[Tensor, Tensor], weights: tuple[Tensor, Tensor], k: int
) -> tuple[Tensor, Tensor]:
    """p_t = (1 − Σ_i w^w_t[i]) p_{t−1} + w^w_t, keeping its k largest entries.

    precedence: (slots (B, k), values (B, k)) p_{t−1}; weights: (slots (B, n), values (B, n)).
    Returns (slots (B, k), values (B, k)).
    """
    kept = 1.0 - weights[1].sum(-1, keepdim=True)
    slots = torch.cat([precedence[0], weights[0]], dim=-1)
    values = torch.cat([kept * precedence[1], weights[1]], dim=-1)
    return merge(slots, values, k)


def _touched_rows(
    store_slots: Tensor, other_slots: Tensor, written: Tensor, sources: Tensor
) -> tuple[Tensor, Tensor]:
    """The rows of a link store an update changes: the written slots' rows, the rows that get
    new entries (``sources``), and the rows holding an entry in a written slot's column (found
    in the transposed store, ``other_slots``). Returns (rows (B, m), first-occurrence mask)."""
    batch = written.shape[0]
    holders = gather_rows(other_slots, written).reshape(batch, -1).long()
    return first_occurrences(torch.cat([written, sources, holders], dim=-1))


def _update_link_rows(
    store: tuple[Tensor, Tensor],
    rows: tuple[Tensor, Tensor],
    weights: tuple[Tensor, Tensor],
    row_source: tuple[Tensor, Tensor],
    column_source: tuple[Tensor, Tensor],
) -> None:
    """X_t[r, c] = (1 − w_r − w_c) X_{t−1}[r, c] + a_r b_c (X_t[r, r] = 0) on the given rows of a
    row store of X (values (B, N, K_L), slots (B, N, K_L)), each row keeping its K_L largest
    entries. X = L: a = w^w_t, b = p_{t−1}; X = Lᵀ: a = p_{t−1}, b = w^w_t."""
    values, slots = store
    row_slots, first = rows
    capacity = values.shape[-1]
    columns = gather_rows(slots, row_slots).long()  # (B, m, K_L)
    old = gather_rows(values, row_slots)
    w_row = lookup(*weights, row_slots).unsqueeze(-1)
    w_column = lookup(*weights, columns)
    decayed = (1.0 - w_row - w_column) * old
    a = lookup(*row_source, row_slots).unsqueeze(-1)
    b_slots, b_values = column_source
    new_columns = b_slots.unsqueeze(1).expand(-1, row_slots.shape[1], -1)
    added = (a * b_values.unsqueeze(1)).masked_fill(new_columns == row_slots.unsqueeze(-1), 0.0)
    merged_columns, merged = merge(
        torch.cat([columns, new_columns], dim=-1), torch.cat([decayed, added], dim=-1), capacity
    )
    keep = first.unsqueeze(-1)
    add_rows(values, row_slots, (merged - old) * keep)
    add_rows(slots, row_slots, ((merged_columns - columns) * keep).to(slots.dtype))


def update_link(
    links: tuple[Tensor, Tensor, Tensor, Tensor],
    precedence: tuple[Tensor, Tensor],
    weights: tuple[Tensor, Tensor],
) -> None:
    """The DNC's temporal link update, L_t[i, j] = (1 − w^w_t[i] − w^w_t[j]) L_{t−1}[i, j] +
    w^w_t[i] p_{t−1}[j], on the K_L-sparse row stores of L and Lᵀ, in place.

    links: (before, before_slots, after, after_slots): row i of ``before`` holds L[i, j] for the
        slots j written before i; row j of ``after`` holds L[i, j] for the slots i written
        after j; values (B, N, K_L), slots (B, N, K_L) int32.
    precedence: (slots, values) p_{t−1}; weights: (slots, values) w^w_t.
    """
    before, before_slots, after, after_slots = links
    written = weights[0]
    # Both sets of rows come from the stores as they were before this step's update.
    rows_before = _touched_rows(before_slots, after_slots, written, written)
    rows_after = _touched_rows(after_slots, before_slots, written, precedence[0])
    _update_link_rows((before, before_slots), rows_before, weights, weights, precedence)
    _update_link_rows((after, after_slots), rows_after, weights, precedence, weights)


def directional_weights(
    store: tuple[Tensor, Tensor], reads: tuple[Tensor, Tensor]
) -> tuple[Tensor, Tensor]:
    """Σ_j X[j, ·] w^{r,i}_{t−1}[j] through a link row store: with ``after`` (rows of Lᵀ) the
    forward weighting f^i_t = L_t w^{r,i}_{t−1}, with ``before`` (rows of L) the backward one
    b^i_t = L_tᵀ w^{r,i}_{t−1}.

    store: (values (B, N, K_L), slots (B, N, K_L)); reads: (slots, weights), each (B, R, K).
    Returns (slots, weights), each (B, R, K·K_L), slots possibly repeated.
    """
    values, slots = store
    read_slots, read_values = reads
    batch, heads = read_slots.shape[:2]
    targets = gather_rows(slots, read_slots).long()  # (B, R, K, K_L)
    links = gather_rows(values, read_slots)
    weighted = links * read_values.unsqueeze(-1)
    return targets.reshape(batch, heads, -1), weighted.reshape(batch, heads, -1)


def read_weights(
    modes: Tensor,
    backward: tuple[Tensor, Tensor],
    content: tuple[Tensor, Tensor],
    forward: tuple[Tensor, Tensor],
    k: int,
) -> tuple[Tensor, Tensor]:
    """w^{r,i}_t = π^i_t[1] b^i_t + π^i_t[2] c^{r,i}_t + π^i_t[3] f^i_t, keeping its k largest
    entries.

    modes: (B, R, 3) read modes over (backward, content, forward); the rest (slots, weights)
    pairs of shape (B, R, ·). Returns (slots, weights), each (B, R, k).
    """
    slots = torch.cat([backward[0], content[0], forward[0]], dim=-1)
    values = torch.cat(
        [
            modes[..., 0:1] * backward[1],
            modes[..., 1:2] * content[1],
            modes[..., 2:3] * forward[1],
        ],
        dim=-1,
    )
    return merge(slots, values, k)


def read(memory: Tensor, weights: tuple[Tensor, Tensor]) -> Tensor:
    """r^i_t = Σ_k w^{r,i}_t[s_k] M_t[s_k]: (B, R, W) from weights (slots, values) (B, R, K)."""
    slots, values = weights
    return (gather_rows(memory, slots) * values.unsqueeze(-1)).sum(-2)
