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
from augrnn.sequence import RecurrentModel
from augrnn.settings import Range, above, at_least, check_integers


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
    ):
        super().__init__()
        sizes = {
            "input_size": input_size,
            "output_size": output_size,
            "memory_slots": memory_slots,
            "memory_width": memory_width,
            "read_heads": read_heads,
        }
        check_integers("DNCCell", **sizes)
        for name, value in sizes.items():
            if value < 1:
                raise ValueError(f"DNCCell needs {name} >= 1, got {value}")
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

    def initial_state(self, batch_size, device=None, dtype=None) -> DNCState:
        device = self.readout.weight.device if device is None else device
        dtype = self.readout.weight.dtype if dtype is None else dtype
        b, n, r, w = batch_size, self.memory_slots, self.read_heads, self.memory_width

        def zeros(*shape: int) -> Tensor:
            return torch.zeros(*shape, device=device, dtype=dtype)

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

    def forward(self, x: Tensor, state: DNCState) -> tuple[Tensor, DNCState]:
        self.check_input(x)
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

    RANGES: ClassVar[dict[str, Range]] = {
        "controller_size": at_least(1),
        "controller_layers": at_least(1),
        "memory_slots": at_least(1),
        "memory_width": at_least(1),
        "read_heads": at_least(1),
        "clip_controller_outputs": above(0),
        "clip_state_gradients": above(0),
    }


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
