"""The Neural Turing Machine (Graves, Wayne & Danihelka 2014) as a core and as a sequence module
(model kind ``ntm``).

One step, in the order the DNC later made standard: the controller reads the input with the
previous read vectors; its output parameterises every head; the write heads address and write
M_{t−1} → M_t; the read heads address and read M_t; the output is a linear map of the
controller output and the new read vectors.

Head activations follow Collier & Beel (2018): key k and add vector a: tanh; strength β: softplus;
gate g: sigmoid; shift s: softmax; sharpening γ: 1 + softplus; erase e: sigmoid.
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
from augrnn.sequence import RecurrentModel
from augrnn.settings import Range, above, at_least, check_sizes

MEMORY_INITS = ("constant", "learned", "random")
#: Collier & Beel (2018): a small constant memory converged fastest and most stably.
CONSTANT_MEMORY_VALUE = 1e-6
#: Spread of the per-episode memory under ``memory_init="random"``.
RANDOM_MEMORY_STD = 0.1
#: Initial logit of slot 0 in the learned initial head weights, so heads start focused there.
INITIAL_FOCUS_LOGIT = 10.0


class NTMState(NamedTuple):
    """State between steps.

    controller:    the controller's own state.
    memory:        (B, N, M) memory M_t.
    read_weights:  (B, R, N) read weights w^r_t of the R read heads.
    write_weights: (B, W, N) write weights w^w_t of the W write heads.
    reads:         (B, R, M) read vectors r_t.
    """

    controller: Any
    memory: Tensor
    read_weights: Tensor
    write_weights: Tensor
    reads: Tensor


class NTMCell(Core):
    """One NTM step as a core: ``output, state = cell(x_t, state)``; output is (B, output_size)
    logits.

    Args:
        input_size: the width of x_t.
        output_size: the width of the output.
        controller: "lstm" or "feedforward".
        controller_size: the controller's width.
        controller_layers: the controller's depth.
        memory_slots: N, the number of memory slots.
        memory_width: M, the width of a slot.
        read_heads: R, the number of read heads.
        write_heads: W, the number of write heads.
        shift_width: S, the odd number of allowed shifts (3 allows −1, 0, +1).
        memory_init: "constant" (1e-6), "learned" (a parameter) or "random" (fresh per episode).
        similarity: "cosine" (the paper's) or "dot".
        clip_controller_outputs: clip the head parameters before their activations to ±this value
            (Collier & Beel use 20); None leaves them unclipped.
        clip_state_gradients: clamp the gradient reaching each step's incoming state (controller
            state, memory, weights, reads) to ±this value elementwise in the backward pass
            (:func:`augrnn.core.clamp_gradient`), so that it cannot grow from step to step until
            it overflows; None (the default) leaves backpropagation exact.
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        *,
        controller: str = "lstm",
        controller_size: int = 100,
        controller_layers: int = 1,
        memory_slots: int = 128,
        memory_width: int = 20,
        read_heads: int = 1,
        write_heads: int = 1,
        shift_width: int = 3,
        memory_init: str = "constant",
        similarity: str = "cosine",
        clip_controller_outputs: float | None = 20.0,
        clip_state_gradients: float | None = None,
    ):
        super().__init__()
        check_sizes(
            "NTMCell",
            input_size=input_size,
            output_size=output_size,
            memory_slots=memory_slots,
            memory_width=memory_width,
            read_heads=read_heads,
            write_heads=write_heads,
        )
        addressing.shift_offsets(shift_width)  # validates
        if memory_init not in MEMORY_INITS:
            raise ValueError(f"memory_init must be one of {MEMORY_INITS}, got {memory_init!r}")
        if similarity not in addressing.SIMILARITIES:
            raise ValueError(
                f"similarity must be one of {addressing.SIMILARITIES}, got {similarity!r}"
            )
        if clip_controller_outputs is not None and clip_controller_outputs <= 0:
            raise ValueError(
                f"clip_controller_outputs must be positive or None, got {clip_controller_outputs}"
            )
        if clip_state_gradients is not None and not clip_state_gradients > 0:
            raise ValueError(
                f"clip_state_gradients must be positive or None, got {clip_state_gradients}"
            )
        self.input_size = input_size
        self.output_size = output_size
        self.memory_slots = memory_slots
        self.memory_width = memory_width
        self.read_heads = read_heads
        self.write_heads = write_heads
        self.shift_width = shift_width
        self.memory_init = memory_init
        self.similarity = similarity
        self.clip_controller_outputs = clip_controller_outputs
        self.clip_state_gradients = clip_state_gradients

        self.controller = build_controller(
            controller, input_size + read_heads * memory_width, controller_size, controller_layers
        )
        hidden = self.controller.output_size
        # Per head: key (M), β, g, shift (S), γ; write heads add erase (M) and add (M).
        self._address_size = memory_width + shift_width + 3
        self._write_param_size = write_heads * (self._address_size + 2 * memory_width)
        # Every head's parameters come from one linear map (one matmul per step), the write
        # heads' first; initialised as two maps of their own sizes would be.
        read_init = nn.Linear(hidden, read_heads * self._address_size)
        write_init = nn.Linear(hidden, self._write_param_size)
        self.head_params = nn.utils.skip_init(
            nn.Linear,
            hidden,
            self._write_param_size + read_heads * self._address_size,
            device=read_init.weight.device,  # the default device (meta, to size the model)
        )
        with torch.no_grad():
            self.head_params.weight.copy_(torch.cat([write_init.weight, read_init.weight]))
            self.head_params.bias.copy_(torch.cat([write_init.bias, read_init.bias]))
        self.readout = nn.Linear(hidden + read_heads * memory_width, output_size)

        def initial_logits(heads: int) -> Tensor:
            logits = torch.zeros(heads, memory_slots)
            logits[:, 0] = INITIAL_FOCUS_LOGIT
            return logits

        self.initial_read_logits = nn.Parameter(initial_logits(read_heads))
        self.initial_write_logits = nn.Parameter(initial_logits(write_heads))
        self.initial_reads = nn.Parameter(torch.zeros(read_heads, memory_width))
        if memory_init == "learned":
            self.initial_memory = nn.Parameter(
                torch.empty(memory_slots, memory_width).uniform_(-0.1, 0.1)
            )
        else:
            self.register_buffer(
                "initial_memory",
                torch.full((memory_slots, memory_width), CONSTANT_MEMORY_VALUE),
                persistent=False,
            )

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Checkpoints from before the heads shared one linear map hold two.
        for kind in ("weight", "bias"):
            write = state_dict.pop(f"{prefix}write_params.{kind}", None)
            read = state_dict.pop(f"{prefix}read_params.{kind}", None)
            if write is not None and read is not None:
                state_dict[f"{prefix}head_params.{kind}"] = torch.cat([write, read])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def initial_state(self, batch_size, device=None, dtype=None) -> NTMState:
        device = self.initial_reads.device if device is None else device
        dtype = self.initial_reads.dtype if dtype is None else dtype

        def batched(t: Tensor) -> Tensor:
            return t.to(device=device, dtype=dtype).unsqueeze(0).expand(batch_size, *t.shape)

        memory = batched(self.initial_memory)
        if self.memory_init == "random":
            memory = memory + RANDOM_MEMORY_STD * torch.randn(
                batch_size, self.memory_slots, self.memory_width, device=device, dtype=dtype
            )
        return NTMState(
            controller=self.controller.initial_state(batch_size, device, dtype),
            memory=memory,
            read_weights=batched(torch.softmax(self.initial_read_logits, -1)),
            write_weights=batched(torch.softmax(self.initial_write_logits, -1)),
            reads=batched(self.initial_reads),
        )

    def _head_parameters(self, raw: Tensor, heads: int) -> dict[str, Tensor]:
        """Split (B, heads·P) controller outputs into activated head parameters."""
        if self.clip_controller_outputs is not None:
            raw = raw.clamp(-self.clip_controller_outputs, self.clip_controller_outputs)
        raw = raw.view(raw.shape[0], heads, -1)
        m, s = self.memory_width, self.shift_width
        params = {
            "keys": torch.tanh(raw[..., :m]),
            "strengths": F.softplus(raw[..., m]),
            "gates": torch.sigmoid(raw[..., m + 1]),
            "shifts": torch.softmax(raw[..., m + 2 : m + 2 + s], dim=-1),
            "gammas": 1.0 + F.softplus(raw[..., m + 2 + s]),
        }
        if raw.shape[-1] > self._address_size:
            base = self._address_size
            params["erase"] = torch.sigmoid(raw[..., base : base + m])
            params["add"] = torch.tanh(raw[..., base + m : base + 2 * m])
        return params

    def _address(
        self, params: dict[str, Tensor], memory: Tensor, prev: Tensor, kind: str
    ) -> Tensor:
        weights, stages = addressing.address(
            params["keys"],
            params["strengths"],
            params["gates"],
            params["shifts"],
            params["gammas"],
            memory,
            prev,
            self.similarity,
        )
        if is_tracing():
            for name, value in params.items():
                emit(f"{kind}_{name}", value)
            for name, value in stages.items():
                emit(f"{kind}_{name}_weights", value)
            emit(f"{kind}_weights", weights)
        return weights

    def forward(self, x: Tensor, state: NTMState) -> tuple[Tensor, NTMState]:
        self.check_input(x)
        if self.clip_state_gradients is not None:
            bound = self.clip_state_gradients
            state = tree_map(lambda t: clamp_gradient(t, bound), state)
        batch = x.shape[0]
        hidden, controller_state = self.controller(
            torch.cat([x, state.reads.reshape(batch, -1)], dim=-1), state.controller
        )
        # Under mixed precision the controller and read-out run in low precision, but the head
        # parameters, addressing and memory stay in float32: γ-sharpening and the softmaxes
        # over N slots lose the focus in bfloat16's 8-bit mantissa.
        with torch.autocast(x.device.type, enabled=False):
            raw = self.head_params(hidden.to(state.memory.dtype))
            raw_write, raw_read = raw.split(
                [self._write_param_size, raw.shape[-1] - self._write_param_size], dim=-1
            )
            write = self._head_parameters(raw_write, self.write_heads)
            write_weights = self._address(write, state.memory, state.write_weights, "write")
            memory = addressing.erase_and_write(
                state.memory, write_weights, write["erase"], write["add"]
            )
            read = self._head_parameters(raw_read, self.read_heads)
            read_weights = self._address(read, memory, state.read_weights, "read")
            reads = addressing.read(memory, read_weights)
        if is_tracing():
            emit("memory", memory)
            emit("reads", reads)
        output = self.readout(torch.cat([hidden, reads.reshape(batch, -1)], dim=-1))
        return output, NTMState(controller_state, memory, read_weights, write_weights, reads)


class NTM(RecurrentModel):
    """A Neural Turing Machine over whole sequences; arguments as in :class:`NTMCell`."""

    def __init__(self, input_size: int, output_size: int, *, batch_first: bool = False, **kwargs):
        super().__init__(NTMCell(input_size, output_size, **kwargs), batch_first=batch_first)


@dataclass
class NTMConfig(ModelConfig):
    """The NTM (model kind ``ntm``): the keyword arguments of :class:`NTMCell`, with its
    defaults (the paper's copy model: an LSTM controller of 100 units, memory 128 x 20, one read
    and one write head). Inside a wrapper (ACT) its output is a read-out of
    ``controller_size`` features."""

    controller: str = "lstm"
    controller_size: int = 100
    controller_layers: int = 1
    memory_slots: int = 128
    memory_width: int = 20
    read_heads: int = 1
    write_heads: int = 1
    shift_width: int = 3
    memory_init: str = "constant"
    similarity: str = "cosine"
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
        "write_heads": at_least(1),
        "shift_width": at_least(1),
        "clip_controller_outputs": above(0),
        "clip_state_gradients": above(0),
    }


def build_ntm(config: NTMConfig, input_size: int, output_size: int | None) -> NTMCell:
    width = config.controller_size if output_size is None else output_size
    return NTMCell(input_size, width, **dataclasses.asdict(config))


MODEL_KINDS = {
    "ntm": ModelKind(NTMConfig, build_core=build_ntm, description="a Neural Turing Machine")
}
