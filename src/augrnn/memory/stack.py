"""Recurrent networks with a differentiable stack, queue or deque (model kinds ``neural_stack``,
``neural_queue``, ``neural_deque``: Grefenstette et al. 2015) and the stack RNN of Joulin &
Mikolov 2015 (model kind ``stack_rnn``). The structures' maths is in
:mod:`augrnn.memory.structures`.

**Neural stack, queue and deque** (Grefenstette et al. §3.2): an LSTM controller reads x_t with
the previous read r_{t−1}; from its output o′_t,

    d_t = σ(W_d o′_t + b_d),  u_t = σ(W_u o′_t + b_u),  v_t = tanh(W_v o′_t + b_v),
    o_t = tanh(W_o o′_t + b_o),

the structure pops u_t, pushes v_t with strength d_t and is read, r_t; the core's output is a
linear read-out of o_t. A deque has two of each (top and bottom) and feeds both reads back. The
pop bias b_u starts at −1 (the paper's App. B: otherwise the structure tends to act as an extra
hidden layer).

**Stack RNN** (Joulin & Mikolov §3.1): h_t = σ(U x_t + R h_{t−1} + Σ_k P_k s^k_{t−1}[0:2]) reads
the top two cells of each of K stacks; each stack takes the actions a^k_t = softmax(A_k h_t)
over push, pop (and no-op) with the value σ(D_k h_t) pushed; the output is y_t = V h_t.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from augrnn.controllers import build_controller
from augrnn.core import Core, emit, is_tracing
from augrnn.interface import ModelConfig, ModelKind
from augrnn.memory import structures
from augrnn.settings import ANY, Range, at_least, check_sizes

STRUCTURES = ("stack", "queue", "deque")


class StructureState(NamedTuple):
    """State of a :class:`NeuralStructureCell` between steps (V_0, s_0, r_0 = 0).

    controller: the controller's own state.
    values:     (B, C, m) values V_t (C = capacity; 2 x capacity for a deque).
    strengths:  (B, C) strengths s_t.
    reads:      (B, E, m) reads r_t: E = 1, or 2 for a deque (from the top, from the bottom).
    """

    controller: Any
    values: Tensor
    strengths: Tensor
    reads: Tensor


class NeuralStructureCell(Core):
    """An LSTM with a continuous stack, queue or deque, one step: ``output, state = cell(x_t,
    state)``; output (B, output_size).

    Args:
        input_size: the width of x_t.
        output_size: the width of the output (None: o_t itself, of ``controller_size``).
        structure: "stack", "queue" or "deque".
        controller: the controller's kind ("lstm" in the paper; "gru", "rnn", "feedforward").
        controller_size: the controller's width (the paper: 256 or 512).
        controller_layers: the controller's depth.
        memory_width: m, the width of a pushed value (the paper: 256).
        capacity: the most steps an episode may take (pushes at each end); a longer episode
            raises :class:`~augrnn.memory.structures.CapacityError` once a row still in use
            would be lost.
        pop_bias: the initial bias b_u of the pop strength (the paper: −1).
    """

    def __init__(
        self,
        input_size: int,
        output_size: int | None,
        *,
        structure: str = "stack",
        controller: str = "lstm",
        controller_size: int = 256,
        controller_layers: int = 1,
        memory_width: int = 256,
        capacity: int = 260,
        pop_bias: float = -1.0,
    ):
        super().__init__()
        if structure not in STRUCTURES:
            raise ValueError(f"structure must be one of {', '.join(STRUCTURES)}, got {structure!r}")
        check_sizes(
            type(self).__name__,
            input_size=input_size,
            output_size=output_size,
            controller_size=controller_size,
            memory_width=memory_width,
            capacity=capacity,
        )
        self.structure = structure
        self.ends = 2 if structure == "deque" else 1
        self.input_size = input_size
        self.memory_width = memory_width
        self.capacity = capacity
        self.controller = build_controller(
            controller, input_size + self.ends * memory_width, controller_size, controller_layers
        )
        hidden = self.controller.output_size
        # Per end: push strength d, pop strength u, value v.
        self.operations = nn.Linear(hidden, self.ends * (2 + memory_width))
        with torch.no_grad():
            self.operations.bias.view(self.ends, 2 + memory_width)[:, 1] = pop_bias
        self.output_layer = nn.Linear(hidden, hidden)
        self.readout = None if output_size is None else nn.Linear(hidden, output_size)
        self.output_size = hidden if output_size is None else output_size

    @property
    def rows(self) -> int:
        """C, the rows the structure holds: the capacity, twice it for a deque."""
        return self.ends * self.capacity

    def initial_state(self, batch_size, device=None, dtype=None) -> StructureState:
        device = self.output_layer.weight.device if device is None else device
        dtype = self.output_layer.weight.dtype if dtype is None else dtype
        b, c, m = batch_size, self.rows, self.memory_width
        return StructureState(
            controller=self.controller.initial_state(batch_size, device, dtype),
            values=torch.zeros(b, c, m, device=device, dtype=dtype),
            strengths=torch.zeros(b, c, device=device, dtype=dtype),
            reads=torch.zeros(b, self.ends, m, device=device, dtype=dtype),
        )

    def forward(self, x: Tensor, state: StructureState) -> tuple[Tensor, StructureState]:
        self.check_input(x)
        batch = x.shape[0]
        hidden, controller_state = self.controller(
            torch.cat([x, state.reads.reshape(batch, -1)], dim=-1), state.controller
        )
        operations = self.operations(hidden).view(batch, self.ends, 2 + self.memory_width)
        push = torch.sigmoid(operations[..., 0])  # (B, E) d_t
        pop = torch.sigmoid(operations[..., 1])  # (B, E) u_t
        value = torch.tanh(operations[..., 2:])  # (B, E, m) v_t
        values, strengths = state.values, state.strengths
        if self.structure == "deque":
            values, strengths, top, bottom = structures.deque_step(
                values,
                strengths,
                pop[:, 0],
                pop[:, 1],
                (value[:, 0], push[:, 0]),
                (value[:, 1], push[:, 1]),
            )
            reads = torch.stack([top, bottom], dim=1)
        else:
            is_stack = self.structure == "stack"
            pop_rule = structures.stack_pop if is_stack else structures.queue_pop
            read_rule = structures.stack_read if is_stack else structures.queue_read
            strengths = pop_rule(strengths, pop[:, 0])
            values, strengths = structures.push(values, strengths, value[:, 0], push[:, 0])
            reads = read_rule(values, strengths).unsqueeze(1)
        if is_tracing():
            emit("push_strengths", push)
            emit("pop_strengths", pop)
            emit("strengths", strengths)
            emit("pushed_values", value)
            emit("reads", reads)
        output = torch.tanh(self.output_layer(hidden))
        if self.readout is not None:
            output = self.readout(output)
        return output, StructureState(controller_state, values, strengths, reads)


@dataclass
class NeuralStackConfig(ModelConfig):
    """An LSTM with a continuous stack (model kind ``neural_stack``; Grefenstette et al. 2015):
    the keyword arguments of :class:`NeuralStructureCell`, the paper's sizes as defaults (an
    LSTM of 256, values of 256, the pop bias at −1) and room for the paper's longest test
    episodes (capacity 260 steps)."""

    STRUCTURE: ClassVar[str] = "stack"

    controller: str = "lstm"
    controller_size: int = 256
    controller_layers: int = 1
    memory_width: int = 256
    capacity: int = 260
    pop_bias: float = -1.0

    RANGES: ClassVar[dict[str, Range]] = {
        "controller_size": at_least(1),
        "controller_layers": at_least(1),
        "memory_width": at_least(1),
        "capacity": at_least(1),
        "pop_bias": ANY,
    }


@dataclass
class NeuralQueueConfig(NeuralStackConfig):
    """An LSTM with a continuous queue (model kind ``neural_queue``); as
    :class:`NeuralStackConfig`."""

    STRUCTURE: ClassVar[str] = "queue"


@dataclass
class NeuralDequeConfig(NeuralStackConfig):
    """An LSTM with a continuous deque (model kind ``neural_deque``), pushed, popped and read at
    both ends; as :class:`NeuralStackConfig` (``capacity`` steps at each end)."""

    STRUCTURE: ClassVar[str] = "deque"


def build_structure(
    config: NeuralStackConfig, input_size: int, output_size: int | None
) -> NeuralStructureCell:
    return NeuralStructureCell(
        input_size,
        output_size,
        structure=config.STRUCTURE,
        controller=config.controller,
        controller_size=config.controller_size,
        controller_layers=config.controller_layers,
        memory_width=config.memory_width,
        capacity=config.capacity,
        pop_bias=config.pop_bias,
    )


class StackRNNState(NamedTuple):
    """State of a :class:`StackRNNCell`: hidden (B, H) h_t; stacks (B, K, D), top first, empty
    cells −1 (at the start, every cell)."""

    hidden: Tensor
    stacks: Tensor


class StackRNNCell(Core):
    """The stack RNN of Joulin & Mikolov 2015, one step; output (B, output_size) logits y_t.

    Args:
        input_size: the width of x_t (a one-hot symbol in the paper).
        output_size: the width of y_t (None: h_t itself, of ``hidden_size``).
        hidden_size: H (the paper's toy tasks: 40).
        stacks: K, stacks in parallel (the paper: 10).
        depth: D, the cells of each stack (the paper's stacks grow on demand; a push drops the
            bottom cell of a full one).
        read_depth: the top cells of each stack fed to the hidden layer (the paper: 2).
        no_op: allow the no-op action beside push and pop.
        recurrent: keep the hidden-to-hidden matrix R (the paper's toy tasks drop it, R = 0).
        discretize: in evaluation (``model.eval()``), take the likeliest action with
            probability 1 and round the pushed value (the paper's "rounding").
    """

    def __init__(
        self,
        input_size: int,
        output_size: int | None,
        *,
        hidden_size: int = 40,
        stacks: int = 10,
        depth: int = 100,
        read_depth: int = 2,
        no_op: bool = True,
        recurrent: bool = True,
        discretize: bool = False,
    ):
        super().__init__()
        check_sizes(
            type(self).__name__,
            input_size=input_size,
            output_size=output_size,
            hidden_size=hidden_size,
            stacks=stacks,
            depth=depth,
            read_depth=read_depth,
        )
        if read_depth > depth:
            raise ValueError(f"StackRNNCell reads at most depth={depth} cells, got {read_depth}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.stacks = stacks
        self.depth = depth
        self.read_depth = read_depth
        self.actions = 3 if no_op else 2
        self.discretize = discretize
        self.input_layer = nn.Linear(input_size + stacks * read_depth, hidden_size)
        self.recurrent = nn.Linear(hidden_size, hidden_size, bias=False) if recurrent else None
        self.action_layer = nn.Linear(hidden_size, stacks * self.actions)
        self.push_layer = nn.Linear(hidden_size, stacks)
        self.readout = None if output_size is None else nn.Linear(hidden_size, output_size)
        self.output_size = hidden_size if output_size is None else output_size

    def initial_state(self, batch_size, device=None, dtype=None) -> StackRNNState:
        device = self.input_layer.weight.device if device is None else device
        dtype = self.input_layer.weight.dtype if dtype is None else dtype
        return StackRNNState(
            hidden=torch.zeros(batch_size, self.hidden_size, device=device, dtype=dtype),
            stacks=torch.full(
                (batch_size, self.stacks, self.depth),
                structures.EMPTY_CELL,
                device=device,
                dtype=dtype,
            ),
        )

    def forward(self, x: Tensor, state: StackRNNState) -> tuple[Tensor, StackRNNState]:
        self.check_input(x)
        batch = x.shape[0]
        top = state.stacks[..., : self.read_depth].reshape(batch, -1)
        pre_activation = self.input_layer(torch.cat([x, top], dim=-1))
        if self.recurrent is not None:
            pre_activation = pre_activation + self.recurrent(state.hidden)
        hidden = torch.sigmoid(pre_activation)
        logits = self.action_layer(hidden).view(batch, self.stacks, self.actions)
        actions = torch.softmax(logits, dim=-1)
        pushed = torch.sigmoid(self.push_layer(hidden))
        if self.discretize and not self.training:
            actions = F.one_hot(actions.argmax(-1), self.actions).to(actions.dtype)
            pushed = pushed.round()
        stacks = structures.discrete_stack_update(state.stacks, actions, pushed)
        if is_tracing():
            emit("stack_actions", actions)
            emit("stacks", stacks)
        output = hidden if self.readout is None else self.readout(hidden)
        return output, StackRNNState(hidden, stacks)


@dataclass
class StackRNNConfig(ModelConfig):
    """The stack RNN (model kind ``stack_rnn``; Joulin & Mikolov 2015): the keyword arguments
    of :class:`StackRNNCell`, the paper's "Stack RNN 40+10" as defaults (40 hidden units, 10
    stacks, the top 2 cells read, no-op allowed)."""

    hidden_size: int = 40
    stacks: int = 10
    depth: int = 100
    read_depth: int = 2
    no_op: bool = True
    recurrent: bool = True
    discretize: bool = False

    RANGES: ClassVar[dict[str, Range]] = {
        "hidden_size": at_least(1),
        "stacks": at_least(1),
        "depth": at_least(1),
        "read_depth": at_least(1),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.read_depth > self.depth:
            raise ValueError(
                f"stack_rnn reads read_depth={self.read_depth} cells of stacks of depth "
                f"{self.depth}: read_depth must be at most depth"
            )


def build_stack_rnn(config: StackRNNConfig, input_size: int, output_size: int | None):
    return StackRNNCell(
        input_size,
        output_size,
        hidden_size=config.hidden_size,
        stacks=config.stacks,
        depth=config.depth,
        read_depth=config.read_depth,
        no_op=config.no_op,
        recurrent=config.recurrent,
        discretize=config.discretize,
    )


MODEL_KINDS = {
    "neural_stack": ModelKind(
        NeuralStackConfig,
        build_core=build_structure,
        description="an LSTM with a continuous stack (Grefenstette et al. 2015)",
        views=("augrnn.memory.stack_views",),
    ),
    "neural_queue": ModelKind(
        NeuralQueueConfig,
        build_core=build_structure,
        description="an LSTM with a continuous queue (Grefenstette et al. 2015)",
        views=("augrnn.memory.stack_views",),
    ),
    "neural_deque": ModelKind(
        NeuralDequeConfig,
        build_core=build_structure,
        description="an LSTM with a continuous deque (Grefenstette et al. 2015)",
        views=("augrnn.memory.stack_views",),
    ),
    "stack_rnn": ModelKind(
        StackRNNConfig,
        build_core=build_stack_rnn,
        description="a sigmoid RNN with discrete-action stacks (Joulin & Mikolov 2015)",
        views=("augrnn.memory.stack_views",),
    ),
}
