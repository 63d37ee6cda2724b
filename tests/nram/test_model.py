"""The NRAM: shapes and distributions, the stopping probabilities, a planted circuit that solves
Increment exactly, the discretised machine, clear errors, and a small NRAM that learns Access
and generalises to larger memories."""

import pytest
import torch

from augrnn.nram.model import NRAM, NRAMConfig
from augrnn.tasks.pointers import IncrementTask, MemoryBatch, PointerTaskConfig
from augrnn.train.config import ConfigError, load_preset, parse_override_args
from augrnn.train.evaluation import evaluate
from augrnn.train.loop import Trainer


def test_memories_registers_and_stops_are_distributions_of_the_right_shapes():
    model = NRAM(registers=2, hidden_size=8)
    g = torch.Generator().manual_seed(0)
    memory = torch.rand(3, 7, 7, generator=g).softmax(-1)  # B = 3, M = 7
    memories, stops, entropy = model.run(memory, steps=4)
    assert memories.shape == (4, 3, 7, 7) and stops.shape == (4, 3)
    assert torch.allclose(memories.sum(-1), torch.ones(4, 3, 7), atol=1e-5)
    assert torch.allclose(stops.sum(0), torch.ones(3), atol=1e-6)
    assert bool((stops >= 0).all())


def test_the_trace_holds_each_module_s_choices_and_the_memory_per_step():
    model = NRAM(registers=3, hidden_size=8, modules=("READ", "INC", "WRITE"))
    memory = torch.eye(5)[None].repeat(2, 1, 1)
    batch = MemoryBatch(
        torch.arange(5)[:, None].repeat(1, 2), torch.zeros(5, 2, dtype=torch.long),
        torch.ones(5, 2), torch.tensor([3, 3]), 4,
    )  # fmt: skip
    outputs, trace = model.traced(batch)
    assert outputs.shape == (5, 2, 5)
    assert len(trace) == 4
    # WRITE chooses among 3 registers + 2 outputs
    assert trace.stack("nram_module2_a").shape == (4, 2, 5)
    assert trace.stack("nram_memory").shape == (4, 2, 5, 5)
    assert trace.stack("nram_stop").shape == (4, 2)
    assert torch.allclose(memory.sum(-1), torch.ones(2, 5))


def test_a_planted_circuit_solves_increment_with_no_wrong_cell(planted_increment):
    task = IncrementTask(PointerTaskConfig(min_size=2, max_size=12, extra_steps=0))
    batches = [task.sample(16, torch.Generator().manual_seed(s)) for s in range(3)]
    batches.append(task.sample(4, torch.Generator(), length=30))
    metrics = evaluate(planted_increment(), task, batches, "cpu")
    assert metrics["error_rate"] == 0.0 and metrics["episode_error_rate"] == 0.0
    assert metrics["cost_bits"] < 1e-3


def test_the_loss_weighs_each_step_s_memory_by_its_stopping_probability(planted_increment):
    model = planted_increment()
    task = IncrementTask(PointerTaskConfig(min_size=3, max_size=3, extra_steps=0))
    batch = task.sample(2, torch.Generator().manual_seed(0))
    memories, _, _ = model.run(model.one_hot_memory(batch), batch.steps)
    # all the weight on the last step: the finished array, cost near 0; on the first: 2 wrong
    last = torch.zeros(batch.steps, 2)
    last[-1] = 1
    first = torch.zeros(batch.steps, 2)
    first[0] = 1
    assert float(model.cost(memories, last, batch).detach().max()) < 1e-3
    assert (
        float(model.cost(memories, first, batch).detach().min()) > 2 * 13.0
    )  # 2 cells at log(1e-6)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("--model.registers=0", "registers"),
        ("--model.modules=READ,JUMP", "modules"),
        ("--model.controller=gru", "controller"),
        ("--model.epsilon=0", "epsilon"),
        ("--task.min_memory=1", "min_memory"),
        ("--task.min_size=9 --task.max_size=3", "min_size"),
    ],
)
def test_bad_settings_are_clear_errors(override, message):
    with pytest.raises((ConfigError, ValueError), match=message):
        load_preset("nram_access", parse_override_args(override.split()))


def test_a_swap_of_one_element_is_refused():
    with pytest.raises((ConfigError, ValueError), match="min_size >= 2"):
        config = load_preset("nram_swap", parse_override_args(["--task.min_size=1"]))
        from augrnn.registry import task_class

        task_class("swap")(config.task)


def test_a_memory_that_is_not_square_is_refused():
    with pytest.raises(ValueError, match=r"\(B, M, M\)"):
        NRAM().run(torch.ones(2, 3, 4), steps=2)


def test_a_small_nram_learns_access_and_generalises_to_larger_memories(tmp_path):
    """Access on arrays of 2-5 (memories of 4-7 cells): under 2% of held-out cells wrong
    within 400 steps of batch 32, and at arrays of 30 (memories of 32 cells) too."""
    overrides = (
        "--task.max_size=5 --model.registers=2 --model.hidden_size=32 --train.steps=400 "
        "--train.curriculum_start=none --train.eval_every=100 --train.eval_sequences=256 "
        "--train.target=0.01 --train.tensorboard=false --train.seed=0"
    )
    trainer = Trainer(load_preset("nram_access", parse_override_args(overrides.split())), tmp_path)
    result = trainer.train(progress=False)
    assert result.eval_metrics["error_rate"] < 0.02, result.eval_metrics
    longer = [trainer.task.sample(64, torch.Generator().manual_seed(5), length=30)]
    assert evaluate(trainer.model, trainer.task, longer, "cpu")["error_rate"] < 0.05


def test_the_discretised_machine_holds_one_integer_everywhere_and_stops_once():
    model = NRAM(registers=3, hidden_size=8, discretise=True).eval()
    task, batch = _increment_batch(n=5, size=6)
    trace = model.traced(batch)[1]
    for name in ("nram_registers", "nram_memory", "nram_module0_a", "nram_register_choices"):
        values = trace.stack(name)
        assert bool(((values == 0) | (values == 1)).all()), name
        torch.testing.assert_close(values.sum(-1), torch.ones(values.shape[:-1]))
    stops = trace.stack("nram_stop")  # (T, B): one step takes all
    assert bool(((stops == 0) | (stops == 1)).all()) and bool((stops.sum(0) == 1).all())
    soft = NRAM(registers=3, hidden_size=8)
    soft.load_state_dict(model.state_dict())
    soft_memories = soft.eval().run(soft.one_hot_memory(batch), batch.steps).memories
    assert not torch.allclose(model.run(model.one_hot_memory(batch), batch.steps).memories,
                              soft_memories)  # fmt: skip
    # training is never discretised
    model.train()
    torch.testing.assert_close(
        model.run(model.one_hot_memory(batch), batch.steps).memories,
        soft.train().run(soft.one_hot_memory(batch), batch.steps).memories,
    )


def test_discretising_a_planted_circuit_keeps_it_exact(planted_increment):
    task = IncrementTask(PointerTaskConfig(min_size=2, max_size=12, extra_steps=0))
    batches = [task.sample(8, torch.Generator().manual_seed(1), length=20)]
    model = planted_increment()
    model.discretise = True
    metrics = evaluate(model, task, batches, "cpu")
    assert metrics["error_rate"] == 0.0 and metrics["episode_error_rate"] == 0.0


def test_the_config_describes_the_circuit():
    config = NRAMConfig(registers=3, modules="READ, INC,WRITE")
    assert config.module_names == ("READ", "INC", "WRITE")
    assert config.summary("nram") == "nram (3 registers, 3 modules, lstm)"


def _increment_batch(n=3, size=4):
    task = IncrementTask(PointerTaskConfig(min_size=n, max_size=n))
    return task, task.sample(size, torch.Generator().manual_seed(0))


def test_a_controller_with_no_preference_has_the_largest_entropy_and_the_bonus_decays():
    model = NRAM(registers=2, hidden_size=4, modules=("READ", "INC", "WRITE"))
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
    task, batch = _increment_batch()
    entropy = model.run(model.one_hot_memory(batch), batch.steps, with_entropy=True).entropy
    assert not model.run(model.one_hot_memory(batch), batch.steps).entropy.any()  # no bonus
    # choices over 2, 2, 3, 3, 4, 4 options (modules), 5 and 5 (registers)
    sizes = torch.tensor([2, 2, 3, 3, 4, 4, 5, 5.0])
    assert torch.allclose(entropy, sizes.log().mean().expand(4))
    decaying = NRAM(entropy_bonus=0.1, entropy_decay=0.5).train()
    for _ in range(3):
        decaying.loss(task, batch)
    assert int(decaying.steps_taken) == 3 and decaying.bonus_weight() == pytest.approx(0.0125)
    total, cost = decaying.eval().loss(task, batch)
    assert int(decaying.steps_taken) == 3 and float(total.detach()) < float(cost.detach())


def _gradient_norm(model, task, batch) -> float:
    model.zero_grad()
    model.loss(task, batch)[0].backward()
    return float(torch.cat([p.grad.flatten() for p in model.parameters()]).norm())


def _choice_gradient_norm(model, task, batch) -> float:
    """The gradient of the head's bias for the circuit's choices (all but the stop logit),
    which reach the loss only through the modules' results, the registers and the memory."""
    model.zero_grad()
    model.loss(task, batch)[0].backward()
    return float(model.head.bias.grad[:-1].norm())


def test_clipping_the_activations_gradients_shrinks_the_choices_gradients():
    task, batch = _increment_batch()
    torch.manual_seed(0)
    free = NRAM(registers=2, hidden_size=8).train()
    clipped = NRAM(registers=2, hidden_size=8, activation_clip=1e-6).train()
    clipped.load_state_dict(free.state_dict())
    assert _choice_gradient_norm(clipped, task, batch) < 1e-3 * _choice_gradient_norm(
        free, task, batch
    )
    assert _choice_gradient_norm(free.eval(), task, batch) > 0.0


def test_gradient_noise_makes_two_equal_steps_differ():
    task, batch = _increment_batch()
    noisy = NRAM(registers=2, hidden_size=8, grad_noise=0.1).train()
    assert _gradient_norm(noisy, task, batch) != _gradient_norm(noisy, task, batch)
    quiet = NRAM(registers=2, hidden_size=8).train()
    assert _gradient_norm(quiet, task, batch) == _gradient_norm(quiet, task, batch)
