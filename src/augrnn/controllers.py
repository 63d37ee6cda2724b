"""Controllers as cores: LSTM, GRU and tanh-RNN stacks and a feed-forward network, plus the
plain recurrent baseline (a stack with a linear read-out), registered as the model kinds
``lstm``, ``gru`` and ``rnn``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import torch
from torch import Tensor, nn

from augrnn.core import Core
from augrnn.interface import ModelConfig, ModelKind
from augrnn.settings import Range, at_least, check_integers


class LSTMState(NamedTuple):
    """h, c: (B, L, H) hidden and cell states of an L-layer LSTM."""

    h: Tensor
    c: Tensor


class HiddenState(NamedTuple):
    """h: (B, L, H) hidden states of an L-layer GRU or tanh RNN."""

    h: Tensor


class FeedForwardState(NamedTuple):
    """A feed-forward controller carries nothing between steps."""


class LSTMController(Core):
    """A stack of ``num_layers`` LSTM cells with learned initial states (NTM §4.6: episodes start
    from learned bias states). Output: the top layer's hidden state, (B, hidden_size)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1):
        super().__init__()
        check_integers(
            type(self).__name__,
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
        )
        if input_size < 1 or hidden_size < 1 or num_layers < 1:
            raise ValueError(
                "LSTMController needs positive input_size, hidden_size and num_layers, got "
                f"{input_size}, {hidden_size}, {num_layers}"
            )
        self.input_size = input_size
        self.output_size = hidden_size
        self.cells = nn.ModuleList(
            nn.LSTMCell(input_size if i == 0 else hidden_size, hidden_size)
            for i in range(num_layers)
        )
        self.h0 = nn.Parameter(torch.zeros(num_layers, hidden_size))
        self.c0 = nn.Parameter(torch.zeros(num_layers, hidden_size))

    def initial_state(self, batch_size, device=None, dtype=None) -> LSTMState:
        def expand(p: Tensor) -> Tensor:
            return p.to(device=device, dtype=dtype).unsqueeze(0).expand(batch_size, -1, -1)

        return LSTMState(expand(self.h0), expand(self.c0))

    def forward(self, x: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        hs, cs = [], []
        inp = x
        for layer, cell in enumerate(self.cells):
            h, c = cell(inp, (state.h[:, layer], state.c[:, layer]))
            hs.append(h)
            cs.append(c)
            inp = h
        return inp, LSTMState(torch.stack(hs, dim=1), torch.stack(cs, dim=1))


class _HiddenOnlyController(Core):
    """A stack of cells whose whole state is the hidden vector (GRU, tanh RNN), with learned
    initial states. Output: the top layer's hidden state, (B, hidden_size)."""

    cell_class: type[nn.Module]

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1):
        super().__init__()
        check_integers(
            type(self).__name__,
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
        )
        if input_size < 1 or hidden_size < 1 or num_layers < 1:
            raise ValueError(
                f"{type(self).__name__} needs positive input_size, hidden_size and num_layers, "
                f"got {input_size}, {hidden_size}, {num_layers}"
            )
        self.input_size = input_size
        self.output_size = hidden_size
        self.cells = nn.ModuleList(
            self.cell_class(input_size if i == 0 else hidden_size, hidden_size)
            for i in range(num_layers)
        )
        self.h0 = nn.Parameter(torch.zeros(num_layers, hidden_size))

    def initial_state(self, batch_size, device=None, dtype=None) -> HiddenState:
        h0 = self.h0.to(device=device, dtype=dtype)
        return HiddenState(h0.unsqueeze(0).expand(batch_size, -1, -1))

    def forward(self, x: Tensor, state: HiddenState) -> tuple[Tensor, HiddenState]:
        hs = []
        inp = x
        for layer, cell in enumerate(self.cells):
            inp = cell(inp, state.h[:, layer])
            hs.append(inp)
        return inp, HiddenState(torch.stack(hs, dim=1))


class GRUController(_HiddenOnlyController):
    """A stack of ``num_layers`` GRU cells."""

    cell_class = nn.GRUCell


class RNNController(_HiddenOnlyController):
    """A stack of ``num_layers`` tanh RNN cells (the ACT paper's parity network)."""

    cell_class = nn.RNNCell


class FeedForwardController(Core):
    """``num_layers`` tanh layers; the NTM paper's feed-forward controller variant."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1):
        super().__init__()
        check_integers(
            type(self).__name__,
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
        )
        if input_size < 1 or hidden_size < 1 or num_layers < 1:
            raise ValueError(
                "FeedForwardController needs positive input_size, hidden_size and num_layers, "
                f"got {input_size}, {hidden_size}, {num_layers}"
            )
        self.input_size = input_size
        self.output_size = hidden_size
        layers: list[nn.Module] = []
        for i in range(num_layers):
            layers += [nn.Linear(input_size if i == 0 else hidden_size, hidden_size), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def initial_state(self, batch_size, device=None, dtype=None) -> FeedForwardState:
        return FeedForwardState()

    def forward(self, x: Tensor, state: FeedForwardState) -> tuple[Tensor, FeedForwardState]:
        return self.net(x), state


CONTROLLERS: dict[str, type[Core]] = {
    "lstm": LSTMController,
    "gru": GRUController,
    "rnn": RNNController,
    "feedforward": FeedForwardController,
}


def build_controller(kind: str, input_size: int, hidden_size: int, num_layers: int) -> Core:
    try:
        cls = CONTROLLERS[kind]
    except KeyError:
        raise ValueError(
            f"unknown controller {kind!r}; choose one of {', '.join(CONTROLLERS)}"
        ) from None
    return cls(input_size, hidden_size, num_layers)


class Readout(Core):
    """Any core followed by a linear layer to ``output_size`` logits: with a recurrent stack as
    the core, the papers' plain LSTM/GRU/RNN baseline."""

    def __init__(self, core: Core, output_size: int):
        super().__init__()
        self.core = core
        self.input_size = core.input_size
        self.output_size = output_size
        self.readout = nn.Linear(core.output_size, output_size)

    def initial_state(self, batch_size, device=None, dtype=None):
        return self.core.initial_state(batch_size, device, dtype)

    def forward(self, x: Tensor, state):
        self.check_input(x)
        h, state = self.core(x, state)
        return self.readout(h), state


@dataclass
class StackConfig(ModelConfig):
    """A recurrent stack (model kinds ``lstm``, ``gru`` and ``rnn``, the last a tanh RNN): its
    width and depth. As a whole model it gets a linear read-out (:class:`Readout`); inside a
    wrapper (ACT) its top layer's hidden vector is what the wrapper reads."""

    hidden_size: int = 256
    num_layers: int = 3

    RANGES: ClassVar[dict[str, Range]] = {
        "hidden_size": at_least(1),
        "num_layers": at_least(1),
    }


@dataclass
class LSTMConfig(StackConfig):
    """An LSTM stack (model kind ``lstm``)."""


@dataclass
class GRUConfig(StackConfig):
    """A GRU stack (model kind ``gru``)."""


@dataclass
class RNNConfig(StackConfig):
    """A tanh RNN stack (model kind ``rnn``)."""


def _stack_kind(name: str, config_class: type[StackConfig], what: str) -> ModelKind:
    def build(config: StackConfig, input_size: int, output_size: int | None) -> Core:
        stack = build_controller(name, input_size, config.hidden_size, config.num_layers)
        return stack if output_size is None else Readout(stack, output_size)

    return ModelKind(config_class, build_core=build, description=f"{what} with a linear read-out")


MODEL_KINDS = {
    "lstm": _stack_kind("lstm", LSTMConfig, "an LSTM stack"),
    "gru": _stack_kind("gru", GRUConfig, "a GRU stack"),
    "rnn": _stack_kind("rnn", RNNConfig, "a tanh RNN stack"),
}
