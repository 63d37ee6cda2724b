"""The Neural GPU: one output per input position after n steps, the relaxation's sets (step t
uses set t mod r, the pull grows, the sets are tied into one), dropout and gradient noise only
in training, clear errors, and a small model that learns binary addition."""

import pytest
import torch

from augrnn.neural_gpu.model import NeuralGPU, NeuralGPUConfig
from augrnn.tasks.long_numbers import LongBinaryAdditionTask, LongNumbersConfig
from augrnn.train.config import load_preset, parse_override_args
from augrnn.train.loop import Trainer

I, K = 4, 3


def inputs(width=7, batch=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.one_hot(torch.randint(0, I, (width, batch), generator=g), I).float()
    x[width - 2 :, 0] = 0  # episode 0 ends early: empty positions
    return x


def test_one_output_per_position_and_the_trace_has_one_step_per_position():
    model = NeuralGPU(I, K, maps=5, rows=3).eval()
    logits, trace = model.traced(type("B", (), {"inputs": inputs()})())
    assert logits.shape == (7, 3, K)
    assert len(trace) == 7
    assert trace.stack("gpu_first_row").shape == (7, 3, 5, 7)
    assert trace.stack("gpu_update").shape == (7, 3, 3, 7)
    readout = trace.stack("gpu_readout")
    assert readout.shape == (7, 3, K, 7)
    assert torch.allclose(readout.sum(2), torch.ones(7, 3, 7))
    assert torch.allclose(torch.softmax(logits, -1).permute(1, 2, 0), readout[-1], atol=1e-6)


@pytest.mark.parametrize("options", [{}, {"activation": "hard", "diagonal_gates": True}])
def test_an_episode_is_computed_alone_as_in_its_batch(options):
    model = NeuralGPU(I, K, maps=6, **options).eval()
    x = inputs()
    together = model(x)
    for b in range(3):
        assert torch.allclose(model(x[:, b : b + 1])[:, 0], together[:, b], atol=1e-6)


def test_step_t_uses_set_t_mod_r_and_equal_sets_make_no_penalty():
    model = NeuralGPU(I, K, maps=4, parameter_sets=3).eval()
    assert model.relaxation_penalty().item() < 1e-10  # every set starts equal
    x = inputs(width=5)
    same = model(x)
    with torch.no_grad():
        model.candidate_weight[:, 2] += 0.5  # set 2 serves step 2 of 0..4 only
    assert model.relaxation_penalty().item() > 0
    reference = NeuralGPU(I, K, maps=4, parameter_sets=1).eval()
    reference.load_state_dict(
        {k: (v[:, :1] if v.dim() > 1 and k.startswith(("gate", "cand")) else v)
         for k, v in model.state_dict().items()}
    )  # fmt: skip
    assert torch.allclose(reference(x), same, atol=1e-6)
    assert not torch.allclose(model(x), same)
    assert [model.set_at(t) for t in range(5)] == [0, 1, 2, 0, 1]


def test_the_pull_grows_and_the_sets_are_tied_into_their_average():
    task = LongBinaryAdditionTask(LongNumbersConfig(max_n=3))
    model = NeuralGPU(
        task.input_size, task.output_size, maps=4, parameter_sets=2,
        relax_pull=0.05, relax_growth=2.0, relax_every=2, relax_tie=0.1,
    )  # fmt: skip
    batch = task.sample(4, torch.Generator().manual_seed(0))
    with torch.no_grad():
        model.gate_weight[:, 1] += 0.1
    mean = model.gate_weight.mean(1).clone()
    model.eval()
    model.loss(task, batch)
    assert int(model.steps_taken) == 0  # evaluation is not a training step
    model.train()
    pulls = []
    for _ in range(3):
        pulls.append(model.pull())
        model.loss(task, batch)
    assert pulls == [0.05, 0.05, 0.1]
    assert bool(model.tied) and model.pull() == 0 and model.set_at(1) == 0
    assert torch.allclose(model.gate_weight[:, 0], mean) and torch.allclose(
        model.gate_weight[:, 1], mean
    )


def test_dropout_acts_only_in_training():
    model = NeuralGPU(I, K, maps=4, state_dropout=0.5)
    x = inputs()
    model.train()
    torch.manual_seed(0)
    first = model(x)
    assert not torch.allclose(first, model(x))
    model.eval()
    assert torch.equal(model(x), model(x))


def test_gradient_noise_is_added_to_every_gradient_and_shrinks_with_steps():
    task = LongBinaryAdditionTask(LongNumbersConfig(max_n=3))
    batch = task.sample(4, torch.Generator().manual_seed(0))

    def grad(model):
        model.zero_grad()
        model.loss(task, batch)[0].backward()
        return model.readout.bias.grad.clone()

    torch.manual_seed(0)
    quiet = NeuralGPU(task.input_size, task.output_size, maps=4).eval()
    noisy = NeuralGPU(task.input_size, task.output_size, maps=4, grad_noise=1.0).eval()
    noisy.load_state_dict(quiet.state_dict())
    early = (grad(noisy) - grad(quiet)).abs().mean()
    noisy.steps_taken.fill_(10**6)
    late = (grad(noisy) - grad(quiet)).abs().mean()
    assert early > 0.1 and late < early / 10


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"kernel_width": 2}, "kernel_width must be odd"),
        ({"activation": "relu"}, "activation must be one of cutoff, hard"),
        ({"maps": 0}, "maps"),
        ({"state_dropout": 1.5}, "state_dropout"),
    ],
)
def test_bad_settings_are_clear_errors(setting, message):
    with pytest.raises(ValueError, match=message):
        NeuralGPUConfig(**setting)


def test_inputs_of_the_wrong_shape_are_a_clear_error():
    with pytest.raises(ValueError, match="time, batch, symbols"):
        NeuralGPU(I, K)(torch.zeros(3, 4))


def test_a_small_neural_gpu_learns_binary_addition(tmp_path):
    """Operands of 1-3 bits, 8 maps over 2 rows, no training aids: from chance to under 5% of
    held-out sums wrong within 600 steps of Adam."""
    overrides = (
        "--task.max_n=3 --model.maps=8 --model.rows=2 --model.parameter_sets=1 "
        "--model.state_dropout=0 --model.grad_noise=0 --optim.lr=5e-3 "
        "--train.curriculum_start=none --train.steps=600 --train.eval_every=100 "
        "--train.eval_sequences=256 --train.target=0.02 --train.tensorboard=false --train.seed=0"
    )
    config = load_preset("long_binary_addition", parse_override_args(overrides.split()))
    trainer = Trainer(config, tmp_path / "run")
    result = trainer.train(progress=False)
    assert result.eval_metrics["sequence_error_rate"] < 0.05, result.eval_metrics


def tiny_addition(extra: str):
    overrides = (
        "--task.max_n=3 --model.maps=4 --model.rows=2 --model.relax_every=3 --model.relax_growth=2 "
        "--model.relax_pull=0.05 --train.eval_every=3 --train.eval_sequences=16 "
        f"--train.batch_size=4 --train.tensorboard=false --train.seed=0 {extra}"
    )
    return load_preset("long_binary_addition", parse_override_args(overrides.split()))


def test_a_resumed_run_with_every_training_aid_ends_with_the_same_parameters(tmp_path):
    """Dropout, gradient noise and the relaxation (which ties its sets at step 4 here) draw and
    count across a resume exactly as in one run."""
    straight = Trainer(tiny_addition("--train.steps=8"), tmp_path / "a")
    straight.train(progress=False)
    assert bool(straight.model.tied)
    Trainer(tiny_addition("--train.steps=3"), tmp_path / "b").train(progress=False)
    resumed = Trainer(tiny_addition("--train.steps=8"), tmp_path / "b", resume=True)
    resumed.train(progress=False)
    for p, q in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(p, q)
    assert straight.last_eval == resumed.last_eval


def test_the_paper_preset_has_the_papers_settings():
    config = load_preset("long_binary_addition")
    model, task, optim, train = config.model, config.task, config.optim, config.train
    assert (model.maps, model.rows, model.layers, model.kernel_width) == (24, 4, 2, 3)
    assert (model.parameter_sets, model.relax_pull, model.relax_tie) == (6, 5e-4, 0.1)
    assert model.state_dropout > 0 and model.grad_noise > 0 and model.activation == "cutoff"
    assert (task.min_n, task.max_n) == (1, 20)
    assert (optim.name, optim.lr, optim.clip_norm, train.batch_size) == ("adam", 1e-3, 1.0, 32)
    assert train.curriculum_start is not None
    plain = load_preset("long_binary_addition_cpu").model
    assert (plain.parameter_sets, plain.state_dropout, plain.grad_noise) == (1, 0.0, 0.0)
    hard = load_preset("long_binary_addition_hard").model
    assert (hard.activation, hard.saturation_cost) == ("hard", 1e-3)
    assert (hard.parameter_sets, hard.state_dropout, hard.grad_noise) == (1, 0.0, 0.0)
