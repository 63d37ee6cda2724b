"""The RL-NTM: heads that never leave their tapes, one emission per target, clear errors, and a
small model that learns to copy with REINFORCE."""

import pytest
import torch

from augrnn.core import Trace
from augrnn.rl_ntm.model import RLNTM
from augrnn.tasks.tapes import ForwardReverseTask, TapeCopyTask, TapeTaskConfig
from augrnn.train.config import load_preset, parse_override_args
from augrnn.train.loop import Trainer


def _traced(task, model, seed=0, size=16):
    batch = task.sample(size, torch.Generator().manual_seed(seed))
    torch.manual_seed(seed)
    trace = Trace()
    episode = model.train().run(batch, trace=trace)
    return batch, episode, trace


@pytest.mark.parametrize("task_class", [TapeCopyTask, ForwardReverseTask])
def test_sampled_heads_never_leave_their_tapes_and_every_target_is_emitted_once(task_class):
    task = task_class(TapeTaskConfig(min_length=1, max_length=6, symbols=5))
    model = RLNTM(task.alphabet, hidden_size=8, memory_width=3)
    for seed in range(5):
        batch, episode, trace = _traced(task, model, seed)
        heads = trace.stack("rl_input_head")  # (T, B)
        assert bool((heads >= 0).all()) and bool((heads < batch.tape_lengths).all())
        memory = trace.stack("rl_memory_head")
        assert bool((memory >= 0).all()) and bool((memory < batch.steps).all())
        if batch.forward_only:
            assert bool((heads[1:] >= heads[:-1]).all())
        else:
            assert bool((heads[1:] < heads[:-1]).any())  # a random policy moves back somewhere
        emitted = trace.stack("rl_emit").sum(0)
        assert torch.equal(emitted, batch.mask.sum(0).long())
        assert episode.outputs.shape == (*batch.targets.shape, task.alphabet)
        assert episode.log_probs.shape == episode.rewards.shape == (batch.steps, 16)
        # no choice once an episode's own budget is spent
        spent = torch.arange(batch.steps)[:, None] >= batch.budgets[None]
        assert bool((episode.log_probs[spent] == 0).all()) and bool(spent.any())
        # a reward only where the model emitted, and never a positive one
        assert bool((episode.rewards <= 0).all())
        assert bool((episode.rewards[trace.stack("rl_emit") == 0] == 0).all())


def test_every_output_row_holds_the_logits_of_one_emission():
    task = TapeCopyTask(TapeTaskConfig(min_length=3, max_length=3, symbols=4))
    model = RLNTM(task.alphabet, hidden_size=8).eval()
    batch = task.sample(4, torch.Generator().manual_seed(1))
    outputs, trace = model.traced(batch)
    assert not bool((outputs == 0).all(-1).any())  # each of the 4 targets got an emission
    assert torch.equal(outputs, model.evaluation_outputs(batch))  # greedy: deterministic


def test_a_budget_shorter_than_the_targets_is_a_clear_error():
    task = TapeCopyTask(TapeTaskConfig(min_length=4, max_length=4, symbols=4))
    batch = task.sample(2, torch.Generator().manual_seed(0))
    batch = batch._replace(budgets=torch.tensor([10, 3]))
    with pytest.raises(ValueError, match=r"budget of 3 steps cannot emit 5 targets \(episode 1\)"):
        RLNTM(task.alphabet).run(batch)


def test_the_loss_trains_the_symbols_and_the_choices():
    task = TapeCopyTask(TapeTaskConfig(min_length=2, max_length=4, symbols=4))
    model = RLNTM(task.alphabet, hidden_size=8, memory_width=2).train()
    batch = task.sample(8, torch.Generator().manual_seed(0))
    total, task_loss = model.loss(task, batch)
    total.backward()
    for name in ("symbol", "input_move", "emit", "baseline", "write", "memory_move"):
        assert float(getattr(model, name).weight.grad.abs().sum()) > 0, name
    assert float(task_loss.detach()) > 0


@pytest.mark.parametrize(
    ("override", "message"),
    [("--model.hidden_size=0", "hidden_size"), ("--task.symbols=1", "symbols"),
     ("--task.min_length=5 --task.max_length=2", "min_length")],
)  # fmt: skip
def test_bad_settings_are_clear_errors(override, message):
    with pytest.raises(ValueError, match=message):
        load_preset("rl_ntm_copy", parse_override_args(override.split()))


@pytest.mark.parametrize("interfaces", ["discrete", "soft"])
def test_a_small_rl_ntm_learns_to_copy(tmp_path, interfaces):
    """Copy of 1-2 symbols of 3: from chance to under 5% of held-out copies wrong within 1,500
    steps of batch 32 (the choices learned by REINFORCE alone, or, with soft interfaces, by
    backpropagation alone)."""
    overrides = (
        f"--model.interfaces={interfaces} --task.min_length=1 --task.max_length=2 "
        "--task.symbols=3 --model.hidden_size=16 --train.curriculum_start=none "
        "--train.steps=1500 --train.eval_every=100 --train.eval_sequences=256 "
        "--train.target=0.05 --train.tensorboard=false --train.seed=0"
    )
    trainer = Trainer(load_preset("rl_ntm_copy", parse_override_args(overrides.split())), tmp_path)
    result = trainer.train(progress=False)
    assert result.eval_metrics["sequence_error_rate"] < 0.05, result.eval_metrics


def test_an_episode_s_outputs_do_not_depend_on_what_shares_its_batch():
    """Each episode runs its own budget: greedy outputs alone and beside longer episodes agree."""
    task = TapeCopyTask(TapeTaskConfig(min_length=1, max_length=9, symbols=4))
    model = RLNTM(task.alphabet, hidden_size=8, memory_width=2).eval()
    batch = task.sample(6, torch.Generator().manual_seed(4))
    together = model.evaluation_outputs(batch)
    for b in range(6):
        alone, _ = task.example(batch, b)
        targets = int(batch.mask[:, b].sum())
        assert torch.allclose(model.evaluation_outputs(alone)[:, 0], together[:targets, b])


def test_direct_access_adds_the_symbol_under_the_input_head_to_the_output():
    """With the gates open, the plain symbol head zero and the input-to-output map 10 I, every
    emission is the symbol under the input head at its step."""
    task = TapeCopyTask(TapeTaskConfig(min_length=3, max_length=6, symbols=5))
    model = RLNTM(task.alphabet, hidden_size=8, memory_width=2, direct_access=True).eval()
    with torch.no_grad():
        model.symbol.weight.zero_()
        model.symbol.bias.zero_()
        model.gates.weight.zero_()
        model.gates.bias.fill_(20.0)
        model.input_to_output.weight.copy_(10 * torch.eye(task.alphabet))
        model.memory_to_output.weight.zero_()
    batch = task.sample(8, torch.Generator().manual_seed(2))
    outputs, trace = model.traced(batch)
    heads, emits = trace.stack("rl_input_head"), trace.stack("rl_emit")
    for b in range(8):
        at = emits[:, b].nonzero().flatten()
        under_head = batch.tape[heads[at, b], b]
        assert torch.equal(outputs[: len(at), b].argmax(-1), under_head)


def test_direct_access_s_maps_and_gates_are_trained():
    task = ForwardReverseTask(TapeTaskConfig(min_length=2, max_length=4, symbols=4))
    model = RLNTM(task.alphabet, hidden_size=8, memory_width=3, direct_access=True).train()
    batch = task.sample(8, torch.Generator().manual_seed(0))
    total, _ = model.loss(task, batch)
    total.backward()
    for name in ("gates", "input_to_output", "memory_to_output", "input_to_memory", "write"):
        assert float(getattr(model, name).weight.grad.abs().sum()) > 0, name
    plain = RLNTM(task.alphabet, hidden_size=8, memory_width=3)
    assert not hasattr(plain, "gates") and sum(p.numel() for p in plain.parameters()) < sum(
        p.numel() for p in model.parameters()
    )
