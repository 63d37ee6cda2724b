"""DirectStep: a compiled step called through its kernels directly, on a toy core with a nested
state; the results must be those of the eager step, and whatever it cannot call directly must
go to the ordinary compiled function."""

from typing import NamedTuple

import pytest
import torch
from torch import nn

from augrnn.compiled_step import DirectStep, _flatten, _matcher, _signature
from augrnn.core import Core

T, B, IN, H = 4, 3, 5, 6


class ToyState(NamedTuple):
    h: torch.Tensor  # (B, H)
    extra: tuple  # ((B, 2),): a tuple inside the state, as a controller's state is


class ToyCore(Core):
    """A tanh RNN whose state also keeps a decaying copy of two of its units."""

    def __init__(self):
        super().__init__()
        self.input_size, self.output_size = IN, H
        self.cell = nn.Linear(IN + H, H)
        self.scale = nn.Parameter(torch.tensor(0.5))

    def initial_state(self, batch_size, device=None, dtype=None):
        return ToyState(torch.zeros(batch_size, H), (torch.zeros(batch_size, 2),))

    def forward(self, x, state):
        h = torch.tanh(self.cell(torch.cat([x, state.h], dim=-1)))
        kept = self.scale * state.extra[0] + h[:, :2]
        return 2 * h + kept.sum(-1, keepdim=True), ToyState(h, (kept,))


class CountingFallback:
    """The ordinary step (here eager), counting its calls."""

    def __init__(self, core):
        self.core, self.calls = core, 0

    def __call__(self, x, state):
        self.calls += 1
        return self.core(x, state)


def run(step, core, xs, state):
    ys = []
    for x in xs:
        y, state = step(x, state)
        ys.append(y)
    return torch.stack(ys), state


def outputs_and_gradients(step, core, xs):
    """Outputs and the gradients of a loss on them (and the last state) with respect to the
    parameters, the inputs and the initial state."""
    core.zero_grad(set_to_none=True)
    xs = xs.detach().clone().requires_grad_()
    h0 = torch.randn(B, H, generator=torch.Generator().manual_seed(1)).requires_grad_()
    state = ToyState(h0, (torch.zeros(B, 2),))  # part of the state needs no gradient
    ys, last = run(step, core, xs, state)
    (ys.square().sum() + last.extra[0].sum()).backward()
    grads = {name: p.grad for name, p in core.named_parameters()}
    return ys.detach(), grads, xs.grad, h0.grad


def toy_direct():
    """A seeded toy core, its counting fallback and its DirectStep."""
    torch.manual_seed(0)
    core = ToyCore()
    fallback = CountingFallback(core)
    return core, fallback, DirectStep(core.forward, core, fallback)


def assert_same_gradients(got: dict, expected: dict) -> None:
    for name, grad in expected.items():
        torch.testing.assert_close(got[name], grad, rtol=1e-5, atol=1e-6, msg=name)


def test_direct_calls_give_the_eager_outputs_and_gradients():
    core, fallback, direct = toy_direct()
    xs = torch.randn(T, B, IN)
    expected = outputs_and_gradients(core, core, xs)
    got = outputs_and_gradients(direct, core, xs)
    torch.testing.assert_close(got[0], expected[0], rtol=1e-5, atol=1e-6)
    assert_same_gradients(got[1], expected[1])
    torch.testing.assert_close(got[2], expected[2], rtol=1e-5, atol=1e-6)  # inputs
    torch.testing.assert_close(got[3], expected[3], rtol=1e-5, atol=1e-6)  # initial state
    assert fallback.calls == 0
    # one variant serves the first step (state without gradient) and the later ones
    assert len(direct.captured) == 1 and None not in direct._variants.values()


def test_without_gradients_or_with_frozen_parameters_it_stays_correct():
    core, fallback, direct = toy_direct()
    xs = torch.randn(T, B, IN)
    with torch.no_grad():
        ys, _ = run(direct, core, xs, core.initial_state(B))
        torch.testing.assert_close(ys, run(core, core, xs, core.initial_state(B))[0])
    assert fallback.calls == T and not direct._variants
    # freezing a parameter compiles a variant of its own, which leaves its gradient empty
    core.scale.requires_grad_(False)
    _, grads, _, _ = outputs_and_gradients(direct, core, xs)
    assert grads["scale"] is None and grads["cell.weight"] is not None
    core.scale.requires_grad_(True)
    expected = outputs_and_gradients(core, core, xs)
    got = outputs_and_gradients(direct, core, xs)
    assert_same_gradients(got[1], expected[1])
    assert len(direct._variants) == 2  # scale frozen, then all trainable


def test_a_step_that_cannot_be_captured_falls_back_with_a_warning():
    torch.manual_seed(0)
    core = ToyCore()

    def step_with_a_graph_break(x, state):
        torch._dynamo.graph_break()  # fullgraph capture fails on this
        return core(x, state)

    fallback = CountingFallback(core)
    direct = DirectStep(step_with_a_graph_break, core, fallback)
    xs = torch.randn(T, B, IN)
    with pytest.warns(UserWarning, match="direct call was not possible"):
        got = outputs_and_gradients(direct, core, xs)
    expected = outputs_and_gradients(core, core, xs)
    torch.testing.assert_close(got[0], expected[0])
    assert fallback.calls == T
    assert list(direct._variants.values()) == [None]


def test_capturing_changes_no_parameter_gradient_or_random_stream():
    core, _, direct = toy_direct()
    before = {k: v.clone() for k, v in core.state_dict().items()}
    xs = torch.randn(T, B, IN)
    rng = torch.get_rng_state()
    run(direct, core, xs, core.initial_state(B))  # captures: compiles, runs forward + backward
    assert torch.equal(torch.get_rng_state(), rng)
    for k, v in core.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert all(p.grad is None for p in core.parameters())


def test_parameters_replaced_by_assignment_are_the_ones_used():
    core, _, direct = toy_direct()
    xs = torch.randn(T, B, IN)
    outputs_and_gradients(direct, core, xs)
    replacement = {k: torch.randn_like(v) for k, v in core.state_dict().items()}
    core.load_state_dict(replacement, assign=True)  # new Parameter objects
    expected = outputs_and_gradients(core, core, xs)
    got = outputs_and_gradients(direct, core, xs)
    torch.testing.assert_close(got[0], expected[0], rtol=1e-5, atol=1e-6)
    assert_same_gradients(got[1], expected[1])
    assert len(direct._matchers) == 1  # the old parameters' matcher is dropped


def test_past_the_limit_of_captures_new_shapes_use_the_ordinary_step(monkeypatch):
    monkeypatch.setattr("augrnn.compiled_step.MAX_CAPTURES", 1)
    core, fallback, direct = toy_direct()
    for batch in (B, B + 1):  # a second batch size: a second signature
        xs = torch.randn(T, batch, IN)
        ys, _ = run(direct, core, xs, core.initial_state(batch))
        torch.testing.assert_close(ys, run(core, core, xs, core.initial_state(batch))[0])
    assert len(direct.captured) == 1 and fallback.calls == T


def test_a_matcher_takes_out_the_tensors_of_its_own_key_only():
    x = torch.randn(B, IN)
    rest = (ToyState(torch.randn(B, H), (torch.randn(B, 2),)), True, 3, None)
    leaves, spec = _flatten(rest)
    match = _matcher(spec, _signature(x), False, tuple(map(_signature, leaves)))
    assert [id(t) for t in match(x, rest)] == [id(t) for t in leaves]
    h, extra = rest[0]
    others = {
        "another constant": (rest[0], False, 3, None),
        "a constant of another type": (rest[0], True, 3.0, None),
        "None for a tensor": (ToyState(h, (None,)), True, 3, None),
        "a plain tuple for a named one": ((h, extra), True, 3, None),
        "a longer tuple": (ToyState(h, (extra[0], extra[0])), True, 3, None),
        "another layout": (ToyState(torch.randn(H, B).t(), extra), True, 3, None),
        "another dtype": (ToyState(h.double(), extra), True, 3, None),
        "another batch size": (ToyState(h[:-1], extra), True, 3, None),
    }
    for name, other in others.items():
        assert match(x, other) is None, name
    assert match(x.double(), rest) is None and match(x.requires_grad_(), rest) is None


def test_each_call_takes_the_variant_of_its_own_constants_and_layouts():
    torch.manual_seed(0)
    core = ToyCore()

    def step(x, state, double, shift):
        y, state = core(x, state)
        return (2 * y if double else y) + (0.0 if shift is None else shift), state

    direct = DirectStep(step, core, step)
    h0 = torch.randn(B, H)
    calls = [
        (True, None, h0),
        (False, None, h0),
        (True, 1.5, h0),
        (True, None, torch.randn(H, B).t()),  # the state in another layout
    ]
    for double, shift, h in calls * 2:  # the second round reuses the first's variants
        x = torch.randn(B, IN)
        state = ToyState(h, (torch.zeros(B, 2),))
        got = direct(x, state, double, shift)
        expected = step(x, state, double, shift)
        torch.testing.assert_close(got[0], expected[0], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(got[1].h, expected[1].h, rtol=1e-5, atol=1e-6)
    assert len(direct._variants) == len(calls) and None not in direct._variants.values()


def test_a_second_backward_pass_gives_the_same_gradients_and_double_backward_fails_clearly():
    core, _, direct = toy_direct()
    xs = torch.randn(T, B, IN)
    outputs_and_gradients(direct, core, xs)  # captures
    ys, _ = run(direct, core, xs, core.initial_state(B))
    loss = ys.square().sum()
    params = list(core.parameters())
    once = torch.autograd.grad(loss, params, retain_graph=True)
    again = torch.autograd.grad(loss, params, retain_graph=True)
    for a, b in zip(once, again, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)  # the saved tensors are intact
    with pytest.raises(RuntimeError, match="cannot be differentiated twice"):
        torch.autograd.grad(loss, params, create_graph=True)
