"""The RL-NTM's soft interfaces: head distributions that keep their mass and agree with the
discrete head on one-hot moves, emissions that follow the discrete run's forcing, and a soft
model trained by backpropagation alone (its tiny copy is learned in test_model.py)."""

import pytest
import torch

from augrnn.rl_ntm.model import RLNTM
from augrnn.rl_ntm.soft import advance_counts, emission_probabilities, soft_move
from augrnn.tasks.tapes import ForwardReverseTask, TapeCopyTask, TapeTaskConfig
from augrnn.train.config import load_preset, parse_override_args


def random_heads(lengths: torch.Tensor, cells: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    weights = torch.rand(len(lengths), cells, generator=generator, dtype=torch.float64)
    weights = weights * (torch.arange(cells)[None] < lengths[:, None])
    return weights / weights.sum(1, keepdim=True)


def test_a_soft_move_keeps_each_row_s_mass_on_its_own_tape():
    lengths = torch.tensor([1, 3, 5, 7])
    weights = random_heads(lengths, 7)
    moves = torch.rand(4, 3, dtype=torch.float64).softmax(-1)
    moved = soft_move(weights, moves, lengths)
    assert torch.allclose(moved.sum(1), torch.ones(4, dtype=torch.float64))
    assert bool((moved >= 0).all())
    assert bool((moved * (torch.arange(7)[None] >= lengths[:, None]) == 0).all())


@pytest.mark.parametrize("move", [0, 1, 2])
def test_one_hot_moves_move_a_one_hot_head_as_the_discrete_head_does(move):
    lengths = torch.tensor([4, 4, 4, 2])
    cells = torch.tensor([0, 2, 3, 1])
    heads = torch.nn.functional.one_hot(cells, 5).double()
    moves = torch.nn.functional.one_hot(torch.full((4,), move), 3).double()
    moved = soft_move(heads, moves, lengths)
    expected = (cells + move - 1).clamp(torch.zeros_like(lengths), lengths - 1)
    assert torch.equal(moved.argmax(1), expected) and torch.allclose(
        moved.max(1).values, torch.ones(4, dtype=torch.float64)
    )


def test_soft_move_passes_gradcheck_in_float64():
    lengths = torch.tensor([3, 5])
    weights = random_heads(lengths, 5).requires_grad_()
    moves = torch.rand(2, 3, dtype=torch.float64).softmax(-1).requires_grad_()
    assert torch.autograd.gradcheck(lambda w, m: soft_move(w, m, lengths), (weights, moves))


def test_emissions_are_forced_when_the_targets_fill_the_steps_and_stop_when_all_are_out():
    emit = torch.tensor([0.3, 0.3])
    targets = torch.tensor([3, 2])
    steps_left = torch.tensor([2, 5])
    e = emission_probabilities(emit, targets, steps_left, slots=4)
    # episode 0: 3 - k targets left in 2 steps: forced for k <= 1, free at k = 2, none at k = 3
    assert e[0].tolist() == pytest.approx([1.0, 1.0, 0.3, 0.0])
    # episode 1: never forced with 5 steps left; none once its 2 targets are out
    assert e[1].tolist() == pytest.approx([0.3, 0.3, 0.0, 0.0])
    counts = torch.tensor([[0.5, 0.5, 0.0, 0.0], [0.2, 0.3, 0.5, 0.0]])
    after = advance_counts(counts, e)
    assert torch.allclose(after.sum(1), torch.ones(2))
    assert after[0].tolist() == pytest.approx([0.0, 0.5, 0.5, 0.0])


@pytest.mark.parametrize("task_class", [TapeCopyTask, ForwardReverseTask])
def test_every_target_is_emitted_once_in_expectation_and_the_loss_reaches_every_choice(task_class):
    task = task_class(TapeTaskConfig(min_length=1, max_length=5, symbols=4))
    model = RLNTM(task.alphabet, hidden_size=8, memory_width=3, interfaces="soft")
    batch = task.sample(6, torch.Generator().manual_seed(3))
    outputs, nll = model.run_soft(batch)
    scored = batch.mask > 0
    assert outputs.shape == (*batch.targets.shape, task.alphabet)
    assert torch.allclose(outputs.exp().sum(-1)[scored], torch.ones(int(scored.sum())), atol=1e-5)
    assert bool((nll > 0).all())
    total, task_loss = model.loss(task, batch)
    assert torch.equal(total, task_loss)
    total.backward()
    for name in ("input_move", "memory_move", "emit", "symbol", "write"):
        assert float(getattr(model, name).weight.grad.abs().sum()) > 0, name
    assert model.baseline.weight.grad is None  # no REINFORCE, no baseline


def test_an_unknown_interface_is_a_clear_error():
    with pytest.raises(ValueError, match="model.interfaces must be one of discrete, soft"):
        load_preset("rl_ntm_copy", parse_override_args(["--model.interfaces=fuzzy"]))
