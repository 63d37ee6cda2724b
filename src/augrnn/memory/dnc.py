"""The Differentiable Neural Computer (Graves et al. 2016, Nature 538) as a core and as a sequence
module (model kind ``dnc``).

One step (Methods): the controller reads x_t with the previous read vectors r_{t−1}; a linear map
of its output gives the interface vector ξ_t, split and squashed as in the paper (read and write
strengths oneplus(x) = 1 + log(1 + eˣ), gates and the erase vector sigmoid, read modes softmax;
keys and the write vector as they are). Then, in the paper's order: usage, the write weighting
(allocation or content), the write, the temporal links, the read weightings (backward, content
or forward) and the reads, all in :mod:`augrnn.memory.dnc_addressing` and the shared
:mod:`augrnn.addressing`. The output y_t = W_y h_t + W_r [r¹_t; ...; r^R_t] is a linear map of the
controller output and this step's reads.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from augrnn import addressing
from augrnn.controllers import build_controller
from augrnn.core import Core, clamp_gradient, emit, is_tracing, tree_map
from augrnn.interface import ModelConfig, ModelKind
from augrnn.memory import dnc_addressing as dnc
from augrnn.memory import sparse_dnc as sparse
from augrnn.sequence import RecurrentModel
from augrnn.settings import Range, above, at_least, check_integers, check_sizes


class DNCState(NamedTuple):
    """State between steps (all zero at the start of an episode, as in the paper).

    controller:    the controller's own state.
    memory:        (B, N, W) memory M_t.
    usage:         (B, N) usage u_t.
    link:          (B, N, N) temporal link matrix L_t.
    precedence:    (B, N) precedence p_t.
    read_weights:  (B, R, N) read weightings w^{r,i}_t.
    write_weights: (B, N) write weighting w^w_t.
    reads:         (B, R, W) read vectors r^i_t.
    """

    controller: Any
    memory: Tensor
    usage: Tensor
    link: Tensor
    precedence: Tensor
    read_weights: Tensor
    write_weights: Tensor
    reads: Tensor


class SparseDNCState(NamedTuple):
    """State of the sparse DNC (``sparse_reads`` = K, ``sparse_links`` = K_L). The memory, usage
    and link stores are updated in place by the next step: clone a state to keep it.

    controller:         the controller's own state.
    memory:             (B, N, W) memory M_t.
    usage:              (B, N) usage u_t.
    links_before:       (B, N, K_L) row i: L_t[i, j] for the slots j written before slot i.
    links_before_slots: (B, N, K_L) int32, those slots j.
    links_after:        (B, N, K_L) row j: L_t[i, j] for the slots i written after slot j.
    links_after_slots:  (B, N, K_L) int32, those slots i.
    precedence_slots, precedence:       (B, K_L) p_t's largest entries.
    read_slots, read_weights:           (B, R, K) w^{r,i}_t's largest entries.
    write_slots, write_weights:         (B, 2K) w^w_t.
    reads:              (B, R, W) read vectors r^i_t.
    """

    controller: Any
    memory: Tensor
    usage: Tensor
    links_before: Tensor
    links_before_slots: Tensor
    links_after: Tensor
    links_after_slots: Tensor
    precedence_slots: Tensor
    precedence: Tensor
    read_slots: Tensor
    read_weights: Tensor
    write_slots: Tensor
    write_weights: Tensor
    reads: Tensor


#: The most slots a dense DNC takes: its N x N link matrix then holds 2^32 entries (16 GiB in
#: float32) per episode. Larger memories need the sparse DNC (``sparse_reads``).
MAX_DENSE_SLOTS = 65_536
#: The most slots whose sparse link matrix is drawn (made dense) for the views.
MAX_TRACED_LINK_SLOTS = 1_024


def oneplus(x: Tensor) -> Tensor:
    """oneplus(x) = 1 + log(1 + eˣ), in [1, ∞): the paper's squashing of key strengths."""
    return 1.0 + F.softplus(x)


class DNCCell(Core):
    """One DNC step as a core: ``output, state = cell(x_t, state)``; output is (B, output_size).

    Args:
        input_size: the width of x_t.
        output_size: the width of the output y_t.
        controller: "lstm" or "feedforward".
        controller_size: the controller's width.
        controller_layers: the controller's depth.
        memory_slots: N, the number of memory slots.
        memory_width: W, the width of a slot.
        read_heads: R, the number of read heads (one write head, as in the paper).
        clip_controller_outputs: clip the interface vector ξ_t to ±this value before it is
            squashed (the reference implementation trains with 20); None leaves it unclipped.
        clip_state_gradients: clamp the gradient reaching each step's incoming state to ±this
            value elementwise in the backward pass (:func:`augrnn.core.clamp_gradient`); None
            (the default) leaves backpropagation exact.
        sparse_reads: K, for the sparse DNC (:mod:`augrnn.memory.sparse_dnc`): each head reads
            and writes its K best slots, so a step's cost grows linearly in N; None (the
            default) is the dense DNC.
        sparse_links: K_L, the entries kept in each row and column of the sparse link matrix
            and of the precedence (None: K); only with ``sparse_reads``.

    As in the reference implementation, usage carries no gradient back into the write weighting
    it was computed from (the paper ignores the allocation sort's gradient too).
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        *,
        controller: str = "lstm",
        controller_size: int = 64,
        controller_layers: int = 1,
        memory_slots: int = 16,
        memory_width: int = 16,
        read_heads: int = 4,
        clip_controller_outputs: float | None = 20.0,
        clip_state_gradients: float | None = None,
        sparse_reads: int | None = None,
        sparse_links: int | None = None,
    ):
        super().__init__()
        check_sizes(
            "DNCCell",
            input_size=input_size,
            output_size=output_size,
            memory_slots=memory_slots,
            memory_width=memory_width,
            read_heads=read_heads,
        )
        check_sparsity(memory_slots, sparse_reads, sparse_links)
        self.sparse_reads = sparse_reads
        self.sparse_links = sparse_links if sparse_links is not None else sparse_reads
        if sparse_reads is not None:
            # The sparse stores are written in place: a step can be neither recomputed in the
            # backward pass nor traced by torch.compile.
            self.checkpointable = False
            self.checkpoint_refusal = (
                "updates its memory in place (sparse_reads), so its steps cannot be recomputed "
                "in the backward pass"
            )
            self.compilable = False
            self.averageable_state = False
        for name, value in (
            ("clip_controller_outputs", clip_controller_outputs),
            ("clip_state_gradients", clip_state_gradients),
        ):
            if value is not None and not value > 0:
                raise ValueError(f"DNCCell needs {name} > 0 or None, got {value}")
        self.input_size = input_size
        self.output_size = output_size
        self.memory_slots = memory_slots
        self.memory_width = memory_width
        self.read_heads = read_heads
        self.clip_controller_outputs = clip_controller_outputs
        self.clip_state_gradients = clip_state_gradients
        self.controller = build_controller(
            controller, input_size + read_heads * memory_width, controller_size, controller_layers
        )
        hidden = self.controller.output_size
        r, w = read_heads, memory_width
        #: Widths of ξ_t's parts, in the paper's order: read keys, read strengths, write key,
        #: write strength, erase vector, write vector, free gates, allocation gate, write gate,
        #: read modes (R W + 3 W + 5 R + 3 in all).
        self._interface_sizes = (r * w, r, w, 1, w, w, r, 1, 1, 3 * r)
        self.interface = nn.Linear(hidden, sum(self._interface_sizes))
        self.readout = nn.Linear(hidden + r * w, output_size)

    @property
    def is_sparse(self) -> bool:
        return self.sparse_reads is not None

    def initial_state(self, batch_size, device=None, dtype=None) -> DNCState | SparseDNCState:
        device = self.readout.weight.device if device is None else device
        dtype = self.readout.weight.dtype if dtype is None else dtype
        b, n, r, w = batch_size, self.memory_slots, self.read_heads, self.memory_width

        def zeros(*shape: int) -> Tensor:
            return torch.zeros(*shape, device=device, dtype=dtype)

        if self.is_sparse:
            k, k_links = self.sparse_reads, self.sparse_links

            def slots(*shape: int) -> Tensor:
                count = shape[-1]
                first = torch.arange(count, device=device) % n
                return first.expand(*shape).contiguous()

            return SparseDNCState(
                controller=self.controller.initial_state(batch_size, device, dtype),
                memory=zeros(b, n, w),
                usage=zeros(b, n),
                links_before=zeros(b, n, k_links),
                links_before_slots=torch.zeros(b, n, k_links, device=device, dtype=torch.int32),
                links_after=zeros(b, n, k_links),
                links_after_slots=torch.zeros(b, n, k_links, device=device, dtype=torch.int32),
                precedence_slots=slots(b, k_links),
                precedence=zeros(b, k_links),
                read_slots=slots(b, r, k),
                read_weights=zeros(b, r, k),
                write_slots=slots(b, 2 * k),
                write_weights=zeros(b, 2 * k),
                reads=zeros(b, r, w),
            )
        return DNCState(
            controller=self.controller.initial_state(batch_size, device, dtype),
            memory=zeros(b, n, w),
            usage=zeros(b, n),
            link=zeros(b, n, n),
            precedence=zeros(b, n),
            read_weights=zeros(b, r, n),
            write_weights=zeros(b, n),
            reads=zeros(b, r, w),
        )

    def interface_vector(self, hidden: Tensor) -> dict[str, Tensor]:
        """ξ_t = W_ξ h_t split and squashed (the paper's names; B episodes):

        read_keys (B, R, W), read_strengths (B, R) ≥ 1, write_key (B, 1, W), write_strength
        (B, 1) ≥ 1, erase (B, 1, W) and free_gates (B, R), allocation_gate (B,), write_gate (B,)
        in [0, 1], write_vector (B, 1, W), read_modes (B, R, 3) over (backward, content,
        forward).
        """
        raw = self.interface(hidden)
        if self.clip_controller_outputs is not None:
            raw = raw.clamp(-self.clip_controller_outputs, self.clip_controller_outputs)
        b, r, w = raw.shape[0], self.read_heads, self.memory_width
        parts = raw.split(self._interface_sizes, dim=-1)
        keys, strengths, write_key, write_strength, erase, vector, free, alloc, gate, modes = parts
        return {
            "read_keys": keys.view(b, r, w),
            "read_strengths": oneplus(strengths),
            "write_key": write_key.view(b, 1, w),
            "write_strength": oneplus(write_strength),
            "erase": torch.sigmoid(erase).view(b, 1, w),
            "write_vector": vector.view(b, 1, w),
            "free_gates": torch.sigmoid(free),
            "allocation_gate": torch.sigmoid(alloc).squeeze(-1),
            "write_gate": torch.sigmoid(gate).squeeze(-1),
            "read_modes": torch.softmax(modes.view(b, r, 3), dim=-1),
        }

    def forward(self, x: Tensor, state: DNCState | SparseDNCState) -> tuple[Tensor, Any]:
        self.check_input(x)
        if self.is_sparse:
            return self._sparse_step(x, state)
        if self.clip_state_gradients is not None:
            bound = self.clip_state_gradients
            state = tree_map(lambda t: clamp_gradient(t, bound), state)
        batch = x.shape[0]
        hidden, controller_state = self.controller(
            torch.cat([x, state.reads.reshape(batch, -1)], dim=-1), state.controller
        )
        # Under mixed precision the controller and read-out run in low precision; the interface,
        # the addressing and the memory stay in float32 (softmaxes and products over N slots).
        with torch.autocast(x.device.type, enabled=False):
            xi = self.interface_vector(hidden.to(state.memory.dtype))
            psi = dnc.retention(xi["free_gates"], state.read_weights)
            usage = dnc.update_usage(state.usage, state.write_weights.detach(), psi)
            allocation = dnc.allocation_weights(usage)
            write_content = addressing.content_weights(
                xi["write_key"], state.memory, xi["write_strength"]
            )[:, 0]
            write_weights = dnc.write_weights(
                allocation, write_content, xi["allocation_gate"], xi["write_gate"]
            )
            memory = addressing.erase_and_write(
                state.memory, write_weights.unsqueeze(1), xi["erase"], xi["write_vector"]
            )
            link = dnc.update_link(state.link, state.precedence, write_weights)
            precedence = dnc.update_precedence(state.precedence, write_weights)
            forward, backward = dnc.directional_weights(link, state.read_weights)
            read_content = addressing.content_weights(xi["read_keys"], memory, xi["read_strengths"])
            read_weights = dnc.read_weights(xi["read_modes"], backward, read_content, forward)
            reads = addressing.read(memory, read_weights)
        if is_tracing():
            for name in ("read_modes", "allocation_gate", "write_gate", "free_gates"):
                emit(name, xi[name])
            emit("usage", usage)
            emit("allocation_weights", allocation)
            emit("write_content_weights", write_content)
            emit("write_weights", write_weights.unsqueeze(1))
            emit("read_weights", read_weights)
            emit("link", link)
            emit("memory", memory)
            emit("reads", reads)
        output = self.readout(torch.cat([hidden, reads.reshape(batch, -1)], dim=-1))
        new_state = DNCState(
            controller_state, memory, usage, link, precedence, read_weights, write_weights, reads
        )
        return output, new_state

    def _sparse_step(self, x: Tensor, state: SparseDNCState) -> tuple[Tensor, SparseDNCState]:
        """The sparse DNC's step (:mod:`augrnn.memory.sparse_dnc`), in the dense step's order."""
        if torch.compiler.is_compiling():
            raise RuntimeError("the sparse DNC updates its memory in place and cannot be compiled")
        if self.clip_state_gradients is not None:
            bound = self.clip_state_gradients
            state = state._replace(
                controller=tree_map(lambda t: clamp_gradient(t, bound), state.controller),
                reads=clamp_gradient(state.reads, bound),
            )
        batch, k, k_links = x.shape[0], self.sparse_reads, self.sparse_links
        hidden, controller_state = self.controller(
            torch.cat([x, state.reads.reshape(batch, -1)], dim=-1), state.controller
        )
        with torch.autocast(x.device.type, enabled=False):
            xi = self.interface_vector(hidden.to(state.memory.dtype))
            prev_reads = (state.read_slots, state.read_weights)
            prev_write = (state.write_slots, state.write_weights.detach())
            usage = sparse.update_usage(state.usage, prev_write, prev_reads, xi["free_gates"])
            allocation = sparse.allocation_weights(usage, k)
            write_content = sparse.content_weights(
                xi["write_key"], state.memory, xi["write_strength"], k
            )
            write_content = (write_content[0][:, 0], write_content[1][:, 0])
            write = sparse.write_weights(
                allocation, write_content, xi["allocation_gate"], xi["write_gate"]
            )
            memory = sparse.write(state.memory, write, xi["erase"][:, 0], xi["write_vector"][:, 0])
            links = (
                state.links_before,
                state.links_before_slots,
                state.links_after,
                state.links_after_slots,
            )
            previous_precedence = (state.precedence_slots, state.precedence)
            sparse.update_link(links, previous_precedence, write)
            precedence = sparse.update_precedence(previous_precedence, write, k_links)
            forward = sparse.directional_weights(
                (state.links_after, state.links_after_slots), prev_reads
            )
            backward = sparse.directional_weights(
                (state.links_before, state.links_before_slots), prev_reads
            )
            read_content = sparse.content_weights(xi["read_keys"], memory, xi["read_strengths"], k)
            read_weights = sparse.read_weights(xi["read_modes"], backward, read_content, forward, k)
            reads = sparse.read(memory, read_weights)
        if is_tracing():
            weightings = (allocation, write_content, write, read_weights)
            self._emit_sparse(xi, memory, usage, links, weightings)
            emit("reads", reads)
        output = self.readout(torch.cat([hidden, reads.reshape(batch, -1)], dim=-1))
        new_state = SparseDNCState(
            controller_state,
            memory,
            usage,
            *links,
            *precedence,
            *read_weights,
            *write,
            reads,
        )
        return output, new_state

    def _emit_sparse(self, xi, memory, usage, links, weightings):
        """The sparse step's weightings, made dense, under the dense step's names (the stores
        are copied: the next step changes them in place)."""
        n = self.memory_slots
        allocation, write_content, write, read_weights = weightings
        for name in ("read_modes", "allocation_gate", "write_gate", "free_gates"):
            emit(name, xi[name])
        emit("usage", usage.detach().clone())
        emit("allocation_weights", sparse.scatter_dense(*allocation, n))
        emit("write_content_weights", sparse.scatter_dense(*write_content, n))
        emit("write_weights", sparse.scatter_dense(*write, n).unsqueeze(1))
        emit("read_weights", sparse.scatter_dense(*read_weights, n))
        if n <= MAX_TRACED_LINK_SLOTS:
            before, before_slots = links[0], links[1]
            emit("link", sparse.scatter_dense(before_slots.long(), before.detach(), n))
        emit("memory", memory.detach().clone())


def check_sparsity(slots: int, sparse_reads: int | None, sparse_links: int | None) -> None:
    """Raise a clear error for sparse settings a memory of ``slots`` slots cannot hold, and for a
    dense DNC whose N x N link matrix would not fit."""
    if sparse_reads is None:
        if sparse_links is not None:
            raise ValueError(
                f"sparse_links={sparse_links} needs the sparse DNC: set sparse_reads as well"
            )
        if slots > MAX_DENSE_SLOTS:
            raise ValueError(
                f"a dense DNC of memory_slots={slots:,} would hold an N x N link matrix of "
                f"{slots * slots:,} entries per episode; at most {MAX_DENSE_SLOTS:,} slots are "
                "dense: set sparse_reads (e.g. 8) for the sparse DNC"
            )
        return
    for name, value in (("sparse_reads", sparse_reads), ("sparse_links", sparse_links)):
        if value is None:
            continue
        check_integers("DNC", **{name: value})
        if not 1 <= value <= slots:
            raise ValueError(
                f"{name} must be between 1 and memory_slots ({slots}), got {value}: a head "
                "cannot use more slots than the memory holds"
            )


class DNC(RecurrentModel):
    """A DNC over whole sequences; arguments as in :class:`DNCCell`."""

    def __init__(self, input_size: int, output_size: int, *, batch_first: bool = False, **kwargs):
        super().__init__(DNCCell(input_size, output_size, **kwargs), batch_first=batch_first)


@dataclass
class DNCConfig(ModelConfig):
    """The DNC (model kind ``dnc``): the keyword arguments of :class:`DNCCell`, with the
    reference implementation's repeat-copy sizes as defaults (an LSTM controller of 64 units,
    memory 16 x 16, 4 read heads, the interface clipped to ±20). Inside a wrapper (ACT) its
    output is a read-out of ``controller_size`` features."""

    controller: str = "lstm"
    controller_size: int = 64
    controller_layers: int = 1
    memory_slots: int = 16
    memory_width: int = 16
    read_heads: int = 4
    clip_controller_outputs: float | None = 20.0
    #: Clamp the gradient of each step's incoming state to ±this value inside
    #: backpropagation through time (None: exact gradients).
    clip_state_gradients: float | None = None
    #: K: the sparse DNC, each head reading and writing its K best slots (None: dense).
    sparse_reads: int | None = None
    #: K_L: entries kept per row and column of the sparse link matrix (None: K).
    sparse_links: int | None = None

    RANGES: ClassVar[dict[str, Range]] = {
        "controller_size": at_least(1),
        "controller_layers": at_least(1),
        "memory_slots": at_least(1),
        "memory_width": at_least(1),
        "read_heads": at_least(1),
        "clip_controller_outputs": above(0),
        "clip_state_gradients": above(0),
        "sparse_reads": at_least(1),
        "sparse_links": at_least(1),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        check_sparsity(self.memory_slots, self.sparse_reads, self.sparse_links)


def build_dnc(config: DNCConfig, input_size: int, output_size: int | None) -> DNCCell:
    width = config.controller_size if output_size is None else output_size
    return DNCCell(input_size, width, **dataclasses.asdict(config))


MODEL_KINDS = {
    "dnc": ModelKind(
        DNCConfig,
        build_core=build_dnc,
        description="a Differentiable Neural Computer",
        views=("augrnn.memory.dnc_views",),
    )
}
