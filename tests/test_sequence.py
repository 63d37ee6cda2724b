"""RecurrentModel, the Model of every core kind, exercised with a toy core: its loss, evaluation
outputs and traces, its declared capabilities, and what it asks of a core that compiles itself,
has a loss of its own or cannot be checkpointed."""

from typing import NamedTuple

import pytest
import torch
from torch import nn

from augrnn.act import ACT
from augrnn.core import Core, add_step_term, emit
from augrnn.interface import Model
from augrnn.sequence import RecurrentModel
from augrnn.tasks.base import Batch

T, B, D = 5, 3, 4


class State(NamedTuple):
    h: torch.Tensor  # (B, D)


class Leaky(Core):
    """h_t = ½ h_{t−1} + W x_t; reports |h_t|₁ as a step term weighted 0.1 and emits h_t."""

    def __init__(self, size: int = D):
        super().__init__()
        self.input_size = self.output_size = size
        self.mix = nn.Linear(size, size)
        self.term_weight = 0.1

    def initial_state(self, batch_size, device=None, dtype=None):
        return State(torch.zeros(batch_size, self.input_size, device=device, dtype=dtype))

    def forward(self, x, state):
        h = 0.5 * state.h + self.mix(x)
        add_step_term("size", h.abs().sum(-1), weight=self.term_weight)
        emit("h", h)
        return h, State(h)


class SquaredTask:
    """Half the squared outputs, summed over steps and averaged over the batch."""

    def loss(self, logits, batch):
        return 0.5 * (logits**2 * batch.mask[..., None]).sum((0, 2)).mean()


def batch_of(padding: int = 0) -> Batch:
    inputs = torch.randn(T, B, D, generator=torch.Generator().manual_seed(0))
    mask = torch.ones(T, B)
    input_mask = None
    if padding:
        input_mask = torch.ones(T, B)
        input_mask[T - padding :, 0] = 0
    return Batch(inputs, torch.zeros(T, B, D), mask, torch.full((B,), T), input_mask)


def test_a_recurrent_model_is_a_model_that_declares_what_it_supports():
    model = RecurrentModel(Leaky())
    assert isinstance(model, Model)
    assert model.supports_compile and model.supports_checkpointing and not model.decodes
    assert model.extra_metrics(None, None) == {} and model.describe_example(None, None, 0) == []


def test_the_loss_adds_the_cores_weighted_step_terms_on_the_episodes_own_steps():
    torch.manual_seed(0)
    model = RecurrentModel(Leaky())
    batch = batch_of(padding=2)
    total, task_loss = model.loss(SquaredTask(), batch)
    outputs, _ = model(batch.inputs)
    assert torch.allclose(task_loss, SquaredTask().loss(outputs, batch))
    sizes = outputs.abs().sum(-1) * batch.input_mask  # step 3 and 4 of episode 0 are padding
    assert torch.allclose(total, task_loss + 0.1 * sizes.sum(0).mean())


def test_a_core_with_a_loss_of_its_own_computes_both_parts():
    class OwnLoss(Leaky):
        def sequence_loss(self, task, batch, logits, terms):
            return logits.sum() * 0 + 7.0, logits.sum() * 0 + 3.0

    total, task_loss = RecurrentModel(OwnLoss()).loss(SquaredTask(), batch_of())
    assert (total.item(), task_loss.item()) == (7.0, 3.0)


def test_evaluation_outputs_and_traced_give_the_forward_outputs():
    torch.manual_seed(0)
    model = RecurrentModel(Leaky())
    batch = batch_of()
    outputs = model.evaluation_outputs(batch)
    assert torch.equal(outputs, model(batch.inputs)[0])
    traced, trace = model.traced(batch)
    assert torch.equal(traced, outputs) and len(trace) == T
    assert torch.equal(trace.stack("h"), outputs)


def test_checkpointing_set_through_the_interface_keeps_the_gradients():
    torch.manual_seed(0)
    plain, checkpointed = RecurrentModel(Leaky()), RecurrentModel(Leaky())
    checkpointed.load_state_dict(plain.state_dict())
    for model in (plain, checkpointed):
        model.core.term_weight = 0.0  # a term in the loss would lose its gradient: see below
    checkpointed.set_checkpointing(2)
    assert checkpointed.checkpoint_every == 2
    batch = batch_of()
    for model in (plain, checkpointed):
        model.loss(SquaredTask(), batch)[0].backward()
    for p, q in zip(plain.parameters(), checkpointed.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad)
    with pytest.raises(ValueError, match="positive number of steps"):
        checkpointed.set_checkpointing(0)


def test_a_core_whose_step_terms_enter_the_loss_refuses_checkpointing():
    # Checkpointing runs the forward pass without gradients: the term would lose its own.
    class Pondering(Leaky):
        checkpointable = False

    model = RecurrentModel(Pondering())
    assert not model.supports_checkpointing
    with pytest.raises(ValueError, match="Pondering cannot recompute its steps"):
        model.set_checkpointing(2)
    act = RecurrentModel(ACT(Leaky(D + 1), D))
    assert not act.supports_checkpointing and RecurrentModel(Leaky()).supports_checkpointing
    with pytest.raises(ValueError, match="ACT reports step terms"):
        act.set_checkpointing(2)


def test_a_core_that_compiles_its_own_step_is_asked_to():
    class SelfCompiling(Leaky):
        compiles_own_step = True
        calls: list = []

        def compile_step(self, direct=True, **compile_kwargs):
            self.calls.append(direct)

    model = RecurrentModel(SelfCompiling())
    model.compile_step(direct=False)
    assert SelfCompiling.calls == [False] and not model.is_compiled
    with pytest.raises(ValueError, match="compiles its own step; chunk_steps must be 1"):
        model.compile_step(chunk_steps=2)
    with pytest.raises(NotImplementedError, match="does not compile its own step"):
        Leaky().compile_step()


def test_inputs_without_a_step_or_a_sequence_are_a_clear_error():
    from augrnn.controllers import LSTMController

    model = RecurrentModel(LSTMController(3, 4))
    for shape in ((0, 2, 3), (5, 0, 3)):
        with pytest.raises(ValueError, match="needs at least one sequence and one step"):
            model(torch.zeros(shape))
