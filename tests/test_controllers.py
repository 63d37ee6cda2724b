import pytest
import torch

from augrnn.controllers import (
    FeedForwardController,
    GRUController,
    HiddenState,
    LSTMController,
    LSTMState,
    Readout,
    RNNController,
    build_controller,
)
from augrnn.core import unroll

B, IN, H, L, T = 3, 5, 7, 2, 4


def test_lstm_controller_stack_shapes_and_learned_initial_state():
    torch.manual_seed(0)
    core = LSTMController(IN, H, num_layers=L)
    state = core.initial_state(B)
    assert isinstance(state, LSTMState)
    assert state.h.shape == state.c.shape == (B, L, H)
    out, new = core(torch.randn(B, IN), state)
    assert out.shape == (B, H)
    torch.testing.assert_close(out, new.h[:, -1])  # the output is the top layer
    out.sum().backward()
    assert core.h0.grad is not None and core.h0.grad.abs().sum() > 0


def test_lstm_controller_matches_torch_lstm_cells():
    torch.manual_seed(0)
    core = LSTMController(IN, H, num_layers=1)
    x = torch.randn(B, IN)
    out, _ = core(x, core.initial_state(B))
    h, _ = core.cells[0](x, (torch.zeros(B, H), torch.zeros(B, H)))
    torch.testing.assert_close(out, h)


def test_feedforward_controller_is_stateless():
    core = FeedForwardController(IN, H, num_layers=2)
    state = core.initial_state(B)
    x = torch.randn(B, IN)
    out1, state1 = core(x, state)
    out2, _ = core(x, state1)
    assert out1.shape == (B, H) and torch.equal(out1, out2)
    assert out1.abs().max() <= 1.0  # tanh layers


def test_build_controller_and_errors():
    assert isinstance(build_controller("lstm", IN, H, 1), LSTMController)
    assert isinstance(build_controller("feedforward", IN, H, 1), FeedForwardController)
    assert isinstance(build_controller("gru", IN, H, 1), GRUController)
    assert isinstance(build_controller("rnn", IN, H, 1), RNNController)
    with pytest.raises(ValueError, match="unknown controller 'transformer'"):
        build_controller("transformer", IN, H, 1)
    with pytest.raises(ValueError, match="positive"):
        LSTMController(IN, 0)


@pytest.mark.parametrize("cls", [GRUController, RNNController])
def test_hidden_only_controllers_stack_and_learn_initial_state(cls):
    torch.manual_seed(0)
    core = cls(IN, H, num_layers=L)
    state = core.initial_state(B)
    assert isinstance(state, HiddenState) and state.h.shape == (B, L, H)
    y, final = unroll(core, torch.randn(T, B, IN))
    assert y.shape == (T, B, H) and final.h.shape == (B, L, H)
    assert torch.equal(y[-1], final.h[:, -1])
    y.sum().backward()
    assert core.h0.grad is not None and core.h0.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="positive"):
        cls(IN, H, num_layers=0)


def test_readout_baseline_unrolls_to_logits():
    torch.manual_seed(0)
    core = Readout(LSTMController(IN, H, num_layers=3), 6)
    y, state = unroll(core, torch.randn(T, B, IN))
    assert y.shape == (T, B, 6) and state.h.shape == (B, 3, H)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn", "feedforward"])
def test_each_controller_on_each_device_matches_a_float64_cpu_reference(kind, matches_float64_cpu):
    xs = torch.randn(T, B, IN, dtype=torch.float64)

    def run(core, dtype, device):
        out, _ = unroll(core, xs.to(device, dtype), None)
        return out

    matches_float64_cpu(lambda: build_controller(kind, IN, H, L), run)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn", "feedforward"])
def test_non_integer_sizes_are_a_clear_error(kind):
    with pytest.raises(ValueError, match="needs an integer hidden_size, got 2.5"):
        build_controller(kind, 3, 2.5, 1)
