"""Controllers as cores: an LSTM stack and a feed-forward network, plus the plain LSTM baseline."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from augrnn.core import Core


class LSTMState(NamedTuple):
    """h, c: (L, B, H) hidden and cell states of an L-layer LSTM."""

    h: Tensor
    c: Tensor


class FeedForwardState(NamedTuple):
    """A feed-forward controller carries nothing between steps."""


class LSTMController(Core):
    """A stack of ``num_layers`` LSTM cells with learned initial states (NTM §4.6: episodes start
    from learned bias states). Output: the top layer's hidden state, (B, hidden_size)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1):
        super().__init__()
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
            return p.to(device=device, dtype=dtype).unsqueeze(1).expand(-1, batch_size, -1)

        return LSTMState(expand(self.h0), expand(self.c0))

    def forward(self, x: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        hs, cs = [], []
        inp = x
        for layer, cell in enumerate(self.cells):
            h, c = cell(inp, (state.h[layer], state.c[layer]))
            hs.append(h)
            cs.append(c)
            inp = h
        return inp, LSTMState(torch.stack(hs), torch.stack(cs))


class FeedForwardController(Core):
    """``num_layers`` tanh layers; the NTM paper's feed-forward controller variant."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1):
        super().__init__()
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


CONTROLLERS = {"lstm": LSTMController, "feedforward": FeedForwardController}


def build_controller(kind: str, input_size: int, hidden_size: int, num_layers: int) -> Core:
    try:
        cls = CONTROLLERS[kind]
    except KeyError:
        raise ValueError(
            f"unknown controller {kind!r}; choose one of {', '.join(CONTROLLERS)}"
        ) from None
    return cls(input_size, hidden_size, num_layers)


class LSTMBaseline(Core):
    """The papers' LSTM baseline: an LSTM stack with a linear read-out to ``output_size`` logits."""

    def __init__(self, input_size: int, output_size: int, hidden_size: int, num_layers: int = 1):
        super().__init__()
        self.input_size = input_size
        self.output_size = output_size
        self.lstm = LSTMController(input_size, hidden_size, num_layers)
        self.readout = nn.Linear(hidden_size, output_size)

    def initial_state(self, batch_size, device=None, dtype=None) -> LSTMState:
        return self.lstm.initial_state(batch_size, device, dtype)

    def forward(self, x: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        self.check_input(x)
        h, state = self.lstm(x, state)
        return self.readout(h), state
