"""The core contract, unroll and Trace, exercised with a toy counter core."""

from typing import NamedTuple

import pytest
import torch
from torch import nn

from augrnn.core import (
    Core,
    Trace,
    clamp_gradient,
    default_inductor_options,
    emit,
    is_tracing,
    unroll,
)


class CounterState(NamedTuple):
    count: torch.Tensor  # (B, 1) steps taken
    total: torch.Tensor  # (B, D) running sum of the inputs


class Counter(Core):
    """Outputs the running sum of its inputs and emits the step count."""

    def __init__(self, size: int):
        super().__init__()
        self.input_size = self.output_size = size

    def initial_state(self, batch_size, device=None, dtype=None):
        return CounterState(
            torch.zeros(batch_size, 1, device=device, dtype=dtype),
            torch.zeros(batch_size, self.input_size, device=device, dtype=dtype),
        )

    def forward(self, x, state):
        self.check_input(x)
        state = CounterState(state.count + 1, state.total + x)
        emit("count", state.count)
        return state.total, state


T, B, D = 5, 3, 4


def test_unroll_time_major_runs_every_step():
    xs = torch.randn(T, B, D)
    outputs, state = unroll(Counter(D), xs)
    assert outputs.shape == (T, B, D)
    torch.testing.assert_close(outputs, xs.cumsum(0))
    assert torch.all(state.count == T)
    assert isinstance(state, CounterState)


def test_unroll_batch_first_matches_time_major():
    xs = torch.randn(B, T, D)
    outputs, state = unroll(Counter(D), xs, batch_first=True)
    assert outputs.shape == (B, T, D)
    torch.testing.assert_close(outputs, xs.cumsum(1))
    torch.testing.assert_close(state.total, xs.sum(1))


def test_unroll_continues_from_a_given_state():
    core = Counter(D)
    xs = torch.randn(T, B, D)
    _, mid = unroll(core, xs[:2])
    outputs, state = unroll(core, xs[2:], mid)
    torch.testing.assert_close(outputs[-1], xs.sum(0))
    assert torch.all(state.count == T)


def test_initial_state_follows_dtype():
    outputs, state = unroll(Counter(D), torch.randn(T, B, D, dtype=torch.float64))
    assert outputs.dtype == torch.float64 and state.total.dtype == torch.float64


def test_trace_records_one_entry_per_step_and_nothing_without_a_trace():
    trace = Trace()
    unroll(Counter(D), torch.randn(T, B, D), trace=trace)
    assert len(trace) == T
    assert trace.names == ["count"]
    counts = trace.stack("count")
    assert counts.shape == (T, B, 1)
    torch.testing.assert_close(counts[:, 0, 0], torch.arange(1.0, T + 1))
    assert not is_tracing()  # the trace is only active inside unroll
    with pytest.raises(KeyError, match="traced names"):
        trace.stack("missing")


def test_unroll_rejects_non_sequences_and_core_rejects_wrong_width():
    with pytest.raises(ValueError, match="3-D input"):
        unroll(Counter(D), torch.randn(B, D))
    with pytest.raises(ValueError, match=r"shape \(batch >= 1, 4\)"):
        unroll(Counter(D), torch.randn(T, B, D + 1))
    with pytest.raises(ValueError, match="floating-point"):
        unroll(Counter(D), torch.ones(T, B, D, dtype=torch.long))


def test_clamp_gradient_is_the_identity_forward_and_clamps_backward():
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    y = clamp_gradient(x, 0.5)
    assert torch.equal(y, x)
    upstream = torch.tensor([[-2.0, -0.5, 0.1, 0.0]] * 3, dtype=torch.float64)
    y.backward(upstream)
    assert torch.equal(x.grad, upstream.clamp(-0.5, 0.5))
    # within the bound, gradients are exact
    assert torch.autograd.gradcheck(lambda t: clamp_gradient(t, 1e9).square(), (x,))


def test_compiled_kernels_get_the_cpp_wrapper_on_the_cpu_only(device):
    layer = nn.Linear(3, 2).to(device)
    expected = {"cpp_wrapper": True} if device.type == "cpu" else {}
    assert default_inductor_options(layer) == expected
    assert default_inductor_options(nn.ReLU()) == {"cpp_wrapper": True}  # no parameters


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn", "ntm", "act"])
def test_every_core_refuses_a_nan_step_and_an_empty_batch_with_a_clear_error(kind):
    """Called directly, each core checks its step as RecurrentModel checks a sequence (ACT
    would otherwise ponder its maximum number of steps on NaN, and return NaN)."""
    from augrnn.controllers import LSTMConfig
    from augrnn.registry import build_core, model_kind

    config_class = model_kind(kind).config_class
    config = config_class(core=LSTMConfig(hidden_size=8)) if kind == "act" else config_class()
    core = build_core(config, 3, 2)
    state = core.initial_state(2)
    for bad in (float("nan"), float("inf")):
        x = torch.zeros(2, 3)
        x[1, 2] = bad
        with pytest.raises(ValueError, match="got an input containing NaN or Inf"):
            core(x, state)
    with pytest.raises(ValueError, match=r"expects one step of shape \(batch >= 1, 3\)"):
        core(torch.zeros(0, 3), core.initial_state(0))
