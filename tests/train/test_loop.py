"""The training loop: learning, exact resume, atomic checkpoints, NaN handling, logging."""

import math

import pytest
import torch

from augrnn.compiled_step import DirectStep
from augrnn.train.checkpoint import load_checkpoint
from augrnn.train.config import ConfigError, OptimConfig, load_preset, parse_override_args
from augrnn.train.loop import Trainer, TrainingDiverged, TrainingOutOfMemory, build_optimizer
from augrnn.train.runs import best_evaluation, load_run, read_metrics

TINY = (
    "--task.bits=4 --task.max_length=4 --model.controller_size=32 --model.memory_slots=8 "
    "--model.memory_width=6 --optim.name=adam --optim.lr=1e-2 --optim.clip_value=none "
    "--optim.clip_norm=10 --train.batch_size=16 --train.eval_sequences=200 "
    "--train.tensorboard=false"
)


def tiny_config(extra: str = ""):
    return load_preset("copy", parse_override_args((TINY + " " + extra).split()))


def test_a_tiny_ntm_learns_a_tiny_copy_task(tmp_path, device):
    """Copy of 1-4 vectors of 4 bits: from about 10 bits per sequence to under 0.5."""
    config = tiny_config(
        f"--train.steps=800 --train.eval_every=50 --train.target=0.5 --train.device={device.type}"
    )
    result = Trainer(config, tmp_path / "run").train(progress=False)
    assert result.reached_target, result.eval_metrics
    assert result.eval_metrics["cost_bits"] < 0.5
    first_eval = next(r for r in read_metrics(tmp_path / "run") if r["split"] == "eval")
    assert first_eval["cost_bits"] > 5.0  # it really started from chance


def test_a_stopped_and_resumed_run_ends_with_the_same_parameters(tmp_path):
    straight = Trainer(tiny_config("--train.steps=12 --train.eval_every=6"), tmp_path / "a")
    straight.train(progress=False)

    first = Trainer(tiny_config("--train.steps=6 --train.eval_every=6"), tmp_path / "b")
    first.train(progress=False)
    resumed = Trainer(
        tiny_config("--train.steps=12 --train.eval_every=6"), tmp_path / "b", resume=True
    )
    assert resumed.step == 6
    resumed.train(progress=False)

    assert resumed.step == straight.step == 12
    for (name, p), q in zip(
        straight.model.state_dict().items(), resumed.model.state_dict().values(), strict=True
    ):
        assert torch.equal(p, q), name
    assert resumed.generator.get_state().equal(straight.generator.get_state())


def test_nan_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(tmp_path):
    trainer = Trainer(tiny_config("--train.steps=20 --train.eval_every=4"), tmp_path / "run")
    real_loss = trainer.task.loss

    def loss_that_breaks(logits, batch):
        loss = real_loss(logits, batch)
        return loss * float("nan") if trainer.step >= 6 else loss

    trainer.task.loss = loss_that_breaks
    with pytest.raises(TrainingDiverged, match="NaN.*step 7|step 7"):
        trainer.train(progress=False)
    payload = load_checkpoint(tmp_path / "run")
    assert payload["step"] == 4
    assert all(torch.isfinite(v).all() for v in payload["model"].values())


class _NaNGradient(torch.autograd.Function):
    """The identity, whose gradient is NaN: a finite loss with overflowing gradients."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return torch.full_like(grad, float("nan"))


def _break_gradients_at(trainer, steps):
    """Make the gradients of the given (1-based) training steps NaN, the loss staying finite."""
    real_loss = trainer.task.loss

    def loss(logits, batch):
        broken = trainer.step + 1 in steps
        return real_loss(_NaNGradient.apply(logits) if broken else logits, batch)

    trainer.task.loss = loss


def test_nan_gradients_stop_training_by_default(tmp_path):
    trainer = Trainer(tiny_config("--train.steps=12 --train.eval_every=4"), tmp_path / "run")
    _break_gradients_at(trainer, {7})
    with pytest.raises(TrainingDiverged, match="gradients became NaN or infinite at step 7$"):
        trainer.train(progress=False)


def test_skip_nonfinite_skips_steps_with_nan_gradients_and_counts_them(tmp_path):
    config = "--train.steps=12 --train.eval_every=4 --train.log_every=1 --train.skip_nonfinite=2"
    trainer = Trainer(tiny_config(config), tmp_path / "run")
    _break_gradients_at(trainer, {7, 8, 10})
    before = {}
    real_step = trainer._train_step

    def step(batch):
        if trainer.step + 1 == 7:
            before.update({k: v.clone() for k, v in trainer.model.state_dict().items()})
        result = real_step(batch)
        if trainer.step + 1 == 8:  # after the second skipped step: nothing moved
            for name, value in trainer.model.state_dict().items():
                assert torch.equal(value, before[name]), name
        return result

    trainer._train_step = step
    trainer.train(progress=False)
    assert trainer.step == 12 and trainer.skipped_steps == 3
    assert all(torch.isfinite(v).all() for v in trainer.model.state_dict().values())
    rows = [row for row in read_metrics(tmp_path / "run") if row["split"] == "train"]
    logged = {row["step"]: row.get("skipped_steps", 0) for row in rows}
    assert logged[6] == 0 and logged[8] == 2 and logged[12] == 3
    assert load_checkpoint(tmp_path / "run")["skipped_steps"] == 3


def test_skip_nonfinite_stops_after_too_many_in_a_row(tmp_path):
    config = "--train.steps=12 --train.eval_every=4 --train.skip_nonfinite=1"
    trainer = Trainer(tiny_config(config), tmp_path / "run")
    _break_gradients_at(trainer, {5, 6})
    with pytest.raises(TrainingDiverged, match="at step 6 \\(2 steps in a row\\)"):
        trainer.train(progress=False)


def test_metrics_log_and_target_stop(tmp_path):
    run = tmp_path / "run"
    config = tiny_config(
        "--train.steps=100 --train.eval_every=5 --train.log_every=1 --train.target=1e9"
    )
    result = Trainer(config, run).train(progress=False)
    assert result.step == 5 and result.reached_target  # any cost is below 1e9
    records = read_metrics(run)
    train_rows = [r for r in records if r["split"] == "train"]
    eval_rows = [r for r in records if r["split"] == "eval"]
    assert [r["step"] for r in train_rows] == [1, 2, 3, 4, 5]
    assert [r["sequences"] for r in eval_rows] == [80]
    assert {"cost_bits", "bit_errors", "bit_error_rate", "sequence_accuracy"} <= set(eval_rows[0])


def test_tensorboard_event_files_are_written(tmp_path):
    pytest.importorskip("tensorboard")
    run = tmp_path / "run"
    config = tiny_config("--train.steps=2 --train.eval_every=2 --train.tensorboard=true")
    Trainer(config, run).train(progress=False)
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))


def test_curriculum_raises_the_length_as_the_cost_falls(tmp_path):
    config = tiny_config(
        "--train.steps=40 --train.eval_every=40 --train.curriculum_start=1 "
        "--train.curriculum_threshold=1e9"
    )
    trainer = Trainer(config, tmp_path / "run")
    trainer.train(progress=False)
    assert trainer.curriculum_length == 4  # threshold always met: it climbs to the maximum
    logged = [
        r["curriculum_length"] for r in read_metrics(tmp_path / "run") if "curriculum_length" in r
    ]
    assert logged and logged[-1] == 4


def test_curriculum_batches_stay_within_the_current_length(tmp_path):
    config = tiny_config(
        "--train.steps=10 --train.eval_every=10 --train.curriculum_start=2 "
        "--train.curriculum_threshold=0"
    )
    trainer = Trainer(config, tmp_path / "run")
    tops = 0
    for _ in range(30):
        batch, at_top = trainer.sample_batch()
        length = int(batch.lengths[0])
        assert torch.all(batch.lengths == length) and 1 <= length <= 2
        assert at_top == (length == 2)
        tops += at_top
    assert 0 < tops < 30
    trainer.train(progress=False)  # a threshold of 0 is never met: the curriculum stays put
    assert trainer.curriculum_length == 2


def mixed_curriculum_distribution(low: int, high: int, level: int) -> dict[int, float]:
    """The NRAM paper's App. B draw at difficulty ``level``, summed exactly over e."""
    p = dict.fromkeys(range(low, high + 1), 0.1 / (high - low + 1))
    for e in range(64):
        pe, top = 0.5 ** (e + 1), min(high, level + e)
        for d in range(low, top + 1):
            p[d] += 0.25 * pe / (top - low + 1)
        p[top] += 0.65 * pe
    return p


def test_the_mixed_curriculum_draws_the_papers_distribution(tmp_path):
    config = tiny_config(
        "--task.max_length=20 --train.curriculum=mixed --train.curriculum_start=5 "
        "--train.curriculum_threshold=0"
    )
    trainer = Trainer(config, tmp_path / "run")
    draws = torch.tensor([trainer._mixed_length(1, 20, 5) for _ in range(20_000)])
    expected = mixed_curriculum_distribution(1, 20, 5)
    assert sum(expected.values()) == pytest.approx(1.0)
    for d, p in expected.items():
        assert float((draws == d).float().mean()) == pytest.approx(p, abs=0.01), d
    assert float((draws == 5).float().mean()) > 0.35  # most batches at the level itself
    for _ in range(40):
        batch, at_level = trainer.sample_batch()
        length = int(batch.lengths[0])
        assert torch.all(batch.lengths == length) and 1 <= length <= 20
        assert at_level == (length >= 5)


def test_the_mixed_curriculum_climbs_when_the_cost_is_low(tmp_path):
    config = tiny_config(
        "--train.steps=40 --train.eval_every=40 --train.curriculum=mixed "
        "--train.curriculum_start=1 --train.curriculum_threshold=1e9"
    )
    trainer = Trainer(config, tmp_path / "run")
    trainer.train(progress=False)
    assert trainer.curriculum_length > 4
    with pytest.raises(ValueError, match="train.curriculum must be one of limit, mixed"):
        tiny_config("--train.curriculum=linear")


def test_unavailable_device_is_a_clear_error(tmp_path):
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA device"):
            Trainer(tiny_config("--train.device=cuda:99"), tmp_path / "run")
        pytest.skip("a CUDA device is present")
    with pytest.raises(ValueError, match="no CUDA device"):
        Trainer(tiny_config("--train.device=cuda"), tmp_path / "run")


def test_every_training_setting_has_a_range():
    from augrnn.settings import numeric_fields
    from augrnn.train.config import TrainConfig

    for config_class in (TrainConfig, OptimConfig):
        missing = set(numeric_fields(config_class)) - set(config_class.RANGES)
        assert not missing, (config_class.__name__, missing)


def test_a_resumed_run_trains_with_the_new_optimiser_settings(tmp_path):
    config = "--train.steps=4 --train.eval_every=4 --optim.name=rmsprop --optim.momentum=0"
    Trainer(tiny_config(config), tmp_path / "run").train(progress=False)
    changed = tiny_config(
        "--train.steps=8 --train.eval_every=4 --optim.name=rmsprop --optim.lr=0.5 "
        "--optim.momentum=0.5 --optim.eps=0.25 --optim.rmsprop_decay=0.5"
    )
    resumed = Trainer(changed, tmp_path / "run", resume=True)
    group = resumed.optimizer.param_groups[0]
    assert (group["lr"], group["momentum"], group["eps"], group["alpha"]) == (0.5, 0.5, 0.25, 0.5)
    before = [p.detach().clone() for p in resumed.model.parameters()]
    resumed.train(progress=False)
    assert resumed.optimizer.param_groups[0]["lr"] == 0.5  # the schedule kept it
    # lr 0.5 moves the parameters far more than the saved run's 1e-2 could in 4 steps
    moved = max(
        (p - q).abs().max().item() for p, q in zip(resumed.model.parameters(), before, strict=True)
    )
    assert moved > 0.5


def test_a_resumed_run_refuses_another_task_model_or_optimiser(tmp_path):
    Trainer(tiny_config("--train.steps=2 --train.eval_every=2"), tmp_path / "run").train(
        progress=False
    )
    for override, message in (
        ("--task.name=repeat_copy", "keeps its preset, task and model kind"),
        ("--optim.name=rmsprop", "keeps its optimiser"),
        ("--model.memory_slots=9", "keeps the shapes of its parameters"),
    ):
        with pytest.raises(ConfigError, match=message):
            Trainer(tiny_config(f"--train.steps=4 {override}"), tmp_path / "run", resume=True)


def test_parameters_that_became_nan_are_never_saved(tmp_path):
    """The step's loss and gradients are finite but the update makes the parameters NaN: the
    first evaluation refuses to save them, and says that no checkpoint exists."""
    trainer = Trainer(tiny_config("--train.steps=8 --train.eval_every=4"), tmp_path / "run")
    real_step = trainer.scaler.step

    def poisoning_step(optimizer):
        result = real_step(optimizer)
        if trainer.step + 1 == 4:  # the step before the first evaluation
            with torch.no_grad():
                next(trainer.model.parameters()).fill_(float("inf"))
        return result

    trainer.scaler.step = poisoning_step
    with pytest.raises(TrainingDiverged, match="parameters became NaN or infinite") as caught:
        trainer.train(progress=False)
    assert "no checkpoint was written" in caught.value.kept
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_a_diverged_run_says_which_checkpoint_it_kept(tmp_path):
    trainer = Trainer(tiny_config("--train.steps=12 --train.eval_every=4"), tmp_path / "run")
    _break_gradients_at(trainer, {7})
    with pytest.raises(TrainingDiverged) as caught:
        trainer.train(progress=False)
    assert "the checkpoint of step 4" in caught.value.kept


def test_orphan_temporary_files_are_removed_when_the_run_trains_again(tmp_path):
    run = tmp_path / "run"
    Trainer(tiny_config("--train.steps=2 --train.eval_every=2"), run).train(progress=False)
    orphan = run / ".checkpoint-abc123.tmp"
    orphan.write_bytes(b"half a checkpoint")
    Trainer(tiny_config("--train.steps=4 --train.eval_every=2"), run, resume=True).train(
        progress=False
    )
    assert not orphan.exists()


def _steps(run, split):
    return [r["step"] for r in read_metrics(run) if r["split"] == split]


def test_a_resumed_run_logs_each_step_once_and_drops_a_torn_line(tmp_path):
    run = tmp_path / "run"
    extra = "--train.eval_every=4 --train.log_every=1"
    Trainer(tiny_config(f"--train.steps=4 {extra}"), run).train(progress=False)
    at_step_4 = (run / "checkpoint.pt").read_bytes()
    # Steps 5-6 are logged, then the run is killed before its next checkpoint, mid-line.
    Trainer(tiny_config(f"--train.steps=6 {extra}"), run, resume=True).train(progress=False)
    (run / "checkpoint.pt").write_bytes(at_step_4)
    with (run / "metrics.jsonl").open("a") as f:
        f.write('{"split": "train", "step": 7, "seq')
    Trainer(tiny_config(f"--train.steps=8 {extra}"), run, resume=True).train(progress=False)
    assert _steps(run, "train") == list(range(1, 9))
    assert _steps(run, "eval") == [4, 8]


def test_a_new_run_in_a_folder_without_a_checkpoint_starts_its_log_afresh(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text('{"split": "train", "step": 1, "sequences": 1}\n')
    Trainer(tiny_config("--train.steps=2 --train.eval_every=2"), run).train(progress=False)
    assert _steps(run, "train") == [] and _steps(run, "eval") == [2]


def test_a_model_too_large_for_memory_is_refused_before_allocating(tmp_path):
    with pytest.raises(TrainingOutOfMemory, match="parameters and buffers"):
        Trainer(tiny_config("--model.controller_size=2000000"), tmp_path / "run")


def test_gradient_checkpointing_trains_exactly_as_without(tmp_path):
    plain = Trainer(tiny_config("--train.steps=5 --train.eval_every=5"), tmp_path / "a")
    plain.train(progress=False)
    saving = Trainer(
        tiny_config("--train.steps=5 --train.eval_every=5 --train.checkpoint_every=3"),
        tmp_path / "b",
    )
    assert saving.model.checkpoint_every == 3
    saving.train(progress=False)
    for (name, p), q in zip(
        plain.model.state_dict().items(), saving.model.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(q, p, msg=name)


@pytest.mark.parametrize(
    "override, message",
    [
        ("--train.compile_chunk=0", "compile_chunk must be an integer >= 1"),
        ("--train.checkpoint_every=0", "checkpoint_every must be an integer >= 1"),
        ("--train.precision=half", "precision must be one of float32, bfloat16, float16"),
        ("--train.skip_nonfinite=-1", "skip_nonfinite must be an integer >= 0"),
        ("--train.steps=-5", "steps must be an integer >= 1, got -5"),
        ("--train.eval_every=-1", "eval_every must be an integer >= 1, got -1"),
        ("--train.eval_every=0", "eval_every must be an integer >= 1, got 0"),
        ("--train.log_every=0", "log_every must be an integer >= 1, got 0"),
        ("--train.eval_sequences=0", "eval_sequences must be an integer >= 1, got 0"),
        ("--train.batch_size=0", "batch_size must be an integer >= 1, got 0"),
        ("--train.max_minutes=-1", "max_minutes must be a number > 0"),
        ("--train.seed=-1", r"seed must be an integer in \[0, "),
        ("--optim.lr=0", "lr must be a number > 0, got 0.0"),
        ("--optim.lr=nan", "lr must be a number, got nan"),
        ("--optim.lr=inf", "lr must be a finite number > 0, got inf"),
        ("--optim.momentum=1", r"momentum must be a number in \[0, 1\), got 1.0"),
        ("--optim.name=lbfgs", "optim.name must be one of rmsprop, adam, sgd"),
        ("--train.device=gpu", "train.device must be one of cpu, cuda, mps"),
        ("--train.device=cuda:x", "train.device must be one of cpu, cuda, mps"),
        ("--model.memory_slots=0", "memory_slots must be an integer >= 1, got 0"),
        ("--task.bits=0", "bits must be an integer >= 1, got 0"),
    ],
)
def test_bad_training_options_are_clear_errors(override, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(override)


def test_compile_direct_chooses_how_the_compiled_step_is_called(tmp_path):
    direct = Trainer(tiny_config("--train.compile=true"), tmp_path / "a")
    wrapped = Trainer(
        tiny_config("--train.compile=true --train.compile_direct=false"), tmp_path / "b"
    )
    # compiling waits for the first step; here only the choice of caller is checked
    assert isinstance(direct.model._compiled_step, DirectStep)
    assert not isinstance(wrapped.model._compiled_step, DirectStep)
    assert wrapped.model.is_compiled


def test_checkpointing_a_model_without_steps_is_a_clear_error(tmp_path):
    config = load_preset("dates", parse_override_args(["--train.checkpoint_every=2"]))
    with pytest.raises(ValueError, match="checkpoint_every is not supported by the model seq2seq"):
        Trainer(config, tmp_path / "run")


def test_bfloat16_training_follows_the_float32_trajectory(tmp_path, device):
    """Over 40 steps of the tiny copy task, autocast to bfloat16 lowers the training cost as
    float32 does (within 10% of it), from the same start."""
    costs = {}
    for precision in ("float32", "bfloat16"):
        config = tiny_config(
            f"--train.steps=40 --train.eval_every=40 --train.precision={precision} "
            f"--train.device={device.type}"
        )
        Trainer(config, tmp_path / precision).train(progress=False)
        rows = [r for r in read_metrics(tmp_path / precision) if r["split"] == "train"]
        costs[precision] = (rows[0]["cost_bits"], rows[-1]["cost_bits"])
    (start, end), (start_bf16, end_bf16) = costs["float32"], costs["bfloat16"]
    assert end < 0.8 * start  # float32 itself learned something in 40 steps
    assert start_bf16 == pytest.approx(start, rel=0.02)
    assert end_bf16 == pytest.approx(end, rel=0.1)


def test_float16_with_loss_scaling_resumes_exactly(tmp_path):
    options = "--train.precision=float16 --train.eval_every=4"
    straight = Trainer(tiny_config(f"--train.steps=8 {options}"), tmp_path / "a")
    assert straight.scaler.is_enabled()
    straight.train(progress=False)
    first = Trainer(tiny_config(f"--train.steps=4 {options}"), tmp_path / "b")
    first.train(progress=False)
    resumed = Trainer(tiny_config(f"--train.steps=8 {options}"), tmp_path / "b", resume=True)
    assert resumed.scaler.get_scale() == first.scaler.get_scale()
    resumed.train(progress=False)
    for (name, p), q in zip(
        straight.model.state_dict().items(), resumed.model.state_dict().values(), strict=True
    ):
        assert torch.equal(p, q), name
    assert resumed.scaler.get_scale() == straight.scaler.get_scale()


def test_training_runs_on_each_device_and_its_run_loads_back(tmp_path, device):
    config = tiny_config(f"--train.steps=4 --train.eval_every=4 --train.device={device.type}")
    trainer = Trainer(config, tmp_path / "run")
    result = trainer.train(progress=False)
    assert next(trainer.model.parameters()).device.type == device.type
    assert math.isfinite(result.eval_metrics["cost_bits"])
    _, _, model, payload = load_run(tmp_path / "run")
    assert payload["step"] == 4
    for (name, p), q in zip(
        trainer.model.state_dict().items(), model.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(q.cpu(), p.cpu(), msg=name)


def test_adam_runs_fused_and_steps_as_the_reference_adam(device):
    weights = torch.nn.Linear(7, 3).to(device)
    reference = torch.nn.Linear(7, 3).to(device)
    reference.load_state_dict(weights.state_dict())
    config = OptimConfig(name="adam", lr=1e-2)
    fused = build_optimizer(weights.parameters(), config)
    plain = torch.optim.Adam(reference.parameters(), lr=1e-2, foreach=False)
    assert fused.defaults["fused"]
    inputs = torch.randn(5, 7, device=device)
    for _ in range(3):
        for model, optimizer in ((weights, fused), (reference, plain)):
            optimizer.zero_grad()
            model(inputs).square().sum().backward()
            optimizer.step()
    for a, b in zip(weights.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_sgd_steps_by_the_learning_rate_times_the_gradient():
    weights = torch.nn.Linear(2, 1, bias=False)
    before = weights.weight.detach().clone()
    optimizer = build_optimizer(weights.parameters(), OptimConfig(name="sgd", lr=0.1, momentum=0))
    weights(torch.tensor([[1.0, 2.0]])).sum().backward()
    optimizer.step()
    torch.testing.assert_close(weights.weight, before - 0.1 * torch.tensor([[1.0, 2.0]]))


def test_rmsprop_is_centred():
    weights = torch.nn.Linear(2, 2)
    optimizer = build_optimizer(weights.parameters(), OptimConfig(name="rmsprop", lr=1e-3))
    assert optimizer.defaults["centered"]


def test_select_best_keeps_the_parameters_that_scored_best_on_the_validation_set(
    tmp_path, monkeypatch
):
    import augrnn.train.loop as loop

    run = tmp_path / "run"
    config = tiny_config("--train.steps=20 --train.eval_every=5 --train.select_best=true")
    trainer = Trainer(config, run)
    scripted = iter([5.0, 3.0, 4.0, 6.0])  # validation costs: the best is the 2nd evaluation
    snapshots, real_evaluate = {}, loop.evaluate

    def evaluate(model, task, batches, device):
        metrics = real_evaluate(model, task, batches, device)
        if batches is trainer.validation_batches:
            snapshots[trainer.step] = {k: v.clone() for k, v in model.state_dict().items()}
            metrics["cost_bits"] = next(scripted)
        return metrics

    monkeypatch.setattr(loop, "evaluate", evaluate)
    trainer.train(progress=False)
    records = read_metrics(run)
    validation = [r for r in records if r["split"] == "validation"]
    held_out = [r for r in records if r["split"] == "eval"]
    assert [r["step"] for r in validation] == [r["step"] for r in held_out] == [5, 10, 15, 20]
    assert [r["cost_bits"] for r in validation] == [5.0, 3.0, 4.0, 6.0]
    _, _, model, payload = load_run(run)
    assert payload["model_step"] == 10 and payload["step"] == 20
    assert payload["best_validation"] == 3.0
    assert best_evaluation(run) == held_out[1]
    for name, value in model.state_dict().items():
        assert torch.equal(value, snapshots[10][name]), name
    _, _, last, payload = load_run(run, best=False)
    assert payload["model_step"] == 20
    for name, value in last.state_dict().items():
        assert torch.equal(value, snapshots[20][name]), name


def test_the_validation_set_is_drawn_apart_from_the_held_out_set():
    config = tiny_config("--train.select_best=true")
    trainer = Trainer(config, "unused")
    held_out, validation = trainer.eval_batches[0], trainer.validation_batches[0]
    assert held_out.inputs.shape[1] == validation.inputs.shape[1]
    assert not torch.equal(held_out.inputs, validation.inputs)


def test_select_best_judges_the_target_on_the_validation_set_and_resumes_its_best(tmp_path):
    run = tmp_path / "run"
    config = tiny_config(
        "--train.steps=10 --train.eval_every=5 --train.select_best=true --train.target=1e9"
    )
    trainer = Trainer(config, run)
    trainer.last_eval = {"cost_bits": 2e9}  # a held-out figure alone must not stop it
    result = trainer.train(progress=False)
    assert result.reached_target and result.step == 5
    assert trainer.last_validation["cost_bits"] < 1e9
    more = tiny_config("--train.steps=10 --train.eval_every=5 --train.select_best=true")
    resumed = Trainer(more, run, resume=True)
    assert resumed.best_validation == trainer.best_validation
    resumed.train(progress=False)
    assert resumed.best_validation <= trainer.best_validation


def _restarts_config(extra: str = ""):
    return tiny_config(
        "--train.steps=10 --train.eval_every=5 --train.select_best=true --train.restarts=3 "
        "--train.restart_steps=4 " + extra
    )


def test_restarts_continue_the_trial_that_scored_best_on_the_validation_set(tmp_path, monkeypatch):
    import augrnn.train.loop as loop

    run = tmp_path / "run"
    trainer = Trainer(_restarts_config("--train.log_every=2"), run)
    scripted = iter([5.0, 2.0, 4.0])  # the trials' validation costs: the 2nd is the best
    trial_ends, chosen, real_evaluate = [], {}, loop.evaluate

    def evaluate(model, task, batches, device):
        metrics = real_evaluate(model, task, batches, device)
        state = {k: v.clone() for k, v in model.state_dict().items()}
        if not trainer.search_finished and batches is trainer.validation_batches:
            trial_ends.append(state)
            metrics["cost_bits"] = next(scripted)
        elif batches is trainer.eval_batches and not chosen:
            chosen.update(state)
        return metrics

    monkeypatch.setattr(loop, "evaluate", evaluate)
    result = trainer.train(progress=False)
    records = read_metrics(run)
    trials = [r for r in records if r["split"] == "trial"]
    assert [(r["trial"], r["seed"], r["step"]) for r in trials] == [
        (0, 0, 4),
        (1, 1000, 4),
        (2, 2000, 4),
    ]
    assert [r["cost_bits"] for r in trials] == [5.0, 2.0, 4.0]
    # Each trial started afresh: their parameters differ.
    first = next(iter(trial_ends[0]))
    assert not torch.equal(trial_ends[0][first], trial_ends[1][first])
    # The run went on from the second trial's parameters, at its step 4, to step 10.
    for name, value in chosen.items():
        assert torch.equal(value, trial_ends[1][name]), name
    assert [r["step"] for r in records if r["split"] == "eval"] == [4, 5, 10]
    assert result.step == 10 and trainer.best_trial == {"trial": 1, "seed": 1000, "validation": 2.0}
    assert {r["split"] for r in records} >= {"trial_train", "train", "eval", "validation"}


def test_a_run_stopped_during_its_trials_resumes_with_the_next_one_exactly(tmp_path, monkeypatch):
    import augrnn.train.loop as loop

    straight = Trainer(_restarts_config(), tmp_path / "a")
    straight.train(progress=False)

    interrupted = Trainer(_restarts_config(), tmp_path / "b")
    real_evaluate, calls = loop.evaluate, []

    def evaluate_then_stop(model, task, batches, device):
        calls.append(batches)
        if len(calls) == 2:  # the second trial's validation
            raise KeyboardInterrupt
        return real_evaluate(model, task, batches, device)

    monkeypatch.setattr(loop, "evaluate", evaluate_then_stop)
    with pytest.raises(KeyboardInterrupt):
        interrupted.train(progress=False)
    monkeypatch.setattr(loop, "evaluate", real_evaluate)
    saved = load_checkpoint(tmp_path / "b")
    assert saved["trials"]["done"] == 1 and not saved["trials"]["finished"]
    resumed = Trainer(_restarts_config(), tmp_path / "b", resume=True)
    resumed.train(progress=False)

    assert resumed.step == straight.step == 10
    assert resumed.best_trial == straight.best_trial
    for (name, p), q in zip(
        straight.model.state_dict().items(), resumed.model.state_dict().values(), strict=True
    ):
        assert torch.equal(p, q), name
    trials = [r["trial"] for r in read_metrics(tmp_path / "b") if r["split"] == "trial"]
    assert trials == [0, 1, 2]


def test_a_trial_that_reaches_the_target_ends_the_search(tmp_path):
    run = tmp_path / "run"
    trainer = Trainer(_restarts_config("--train.target=1e9"), run)
    result = trainer.train(progress=False)
    assert [r["trial"] for r in read_metrics(run) if r["split"] == "trial"] == [0]
    assert result.reached_target and result.step == 4
    assert load_checkpoint(run)["trials"] == {
        "done": 1,
        "best": trainer.best_trial,
        "finished": True,
    }


@pytest.mark.parametrize(
    "override, message",
    [
        ("--train.restarts=0", "restarts must be an integer >= 1"),
        ("--train.restarts=2 --train.select_best=true", "needs train.restart_steps"),
        (
            "--train.restarts=2 --train.restart_steps=10 --train.steps=10 --train.select_best=true",
            "below train.steps",
        ),
        ("--train.restarts=2 --train.restart_steps=5", "needs train.select_best = true"),
    ],
)
def test_bad_restart_settings_are_clear_errors(override, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(override)


def test_a_trial_is_the_run_of_its_seed_step_for_step(tmp_path, monkeypatch):
    import augrnn.train.loop as loop

    trainer = Trainer(_restarts_config("--train.restarts=2"), tmp_path / "trials")
    ends, real_evaluate = [], loop.evaluate

    def evaluate(model, task, batches, device):
        if not trainer.search_finished and batches is trainer.validation_batches:
            ends.append({k: v.clone() for k, v in model.state_dict().items()})
        return real_evaluate(model, task, batches, device)

    monkeypatch.setattr(loop, "evaluate", evaluate)
    trainer.train(progress=False)
    alone = Trainer(tiny_config("--train.steps=4 --train.seed=1000"), tmp_path / "alone")
    alone.train(progress=False)
    for name, value in alone.model.state_dict().items():
        assert torch.equal(value, ends[1][name]), name


def test_a_run_resumed_during_its_trials_without_time_left_trains_no_new_trial(
    tmp_path, monkeypatch
):
    import augrnn.train.loop as loop

    run = tmp_path / "run"
    real_evaluate, calls = loop.evaluate, []

    def evaluate_then_stop(model, task, batches, device):
        calls.append(batches)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_evaluate(model, task, batches, device)

    monkeypatch.setattr(loop, "evaluate", evaluate_then_stop)
    with pytest.raises(KeyboardInterrupt):
        Trainer(_restarts_config(), run).train(progress=False)
    monkeypatch.setattr(loop, "evaluate", real_evaluate)
    resumed = Trainer(_restarts_config("--train.max_minutes=1e-9"), run, resume=True)
    result = resumed.train(progress=False)
    assert [r["trial"] for r in read_metrics(run) if r["split"] == "trial"] == [0]
    assert resumed.trials_done == 1 and result.step == 4


def test_the_step_schedule_multiplies_the_rate_every_so_many_steps():
    from augrnn.train.loop import build_schedule

    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=1.0)
    schedule = build_schedule(
        optimizer, OptimConfig(name="sgd", schedule="step", decay_every=3, decay_factor=0.5), 100
    )
    rates = []
    for _ in range(7):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    with pytest.raises(ValueError, match="decay_factor"):
        OptimConfig(decay_factor=0.0)
