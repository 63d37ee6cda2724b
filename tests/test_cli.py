"""The command line, driven through click's runner: output a user sees and clear errors."""

import json

import pytest
import torch
from click.testing import CliRunner

from augrnn.cli import main
from augrnn.tasks import TASKS
from augrnn.train.checkpoint import load_checkpoint

TINY = [
    "--task.bits=3",
    "--task.max_length=3",
    "--model.controller_size=8",
    "--model.memory_slots=8",
    "--model.memory_width=4",
    "--train.steps=4",
    "--train.eval_every=2",
    "--train.eval_sequences=16",
    "--train.tensorboard=false",
]


@pytest.fixture
def runner():
    return CliRunner()


def test_tasks_lists_and_renders_every_task(runner):
    result = runner.invoke(main, ["tasks"])
    assert result.exit_code == 0, result.output
    for name in TASKS:
        assert f"== {name}:" in result.output
    assert "#" in result.output  # bit pictures were drawn


def test_presets_lists_the_demo(runner):
    result = runner.invoke(main, ["presets"])
    assert result.exit_code == 0
    assert "demo" in result.output and "copy_lstm" in result.output


def test_train_then_eval_prints_a_length_table(runner, tmp_path):
    run = tmp_path / "run"
    result = runner.invoke(main, ["train", "copy", "--run-dir", str(run), "--no-progress", *TINY])
    assert result.exit_code == 0, result.output
    assert "step 4, 4 sequences" in result.output
    assert f"run folder: {run}" in result.output

    result = runner.invoke(main, ["eval", str(run), "--lengths", "2,5", "--sequences", "8"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].split()[:4] == ["length", "step", "cost_bits", "bit_errors"]
    assert [line.split()[:2] for line in lines[1:]] == [["2", "4"], ["5", "4"]]

    result = runner.invoke(main, ["eval", str(run), "--lengths", "3", "--json", "--sequences", "8"])
    rows = json.loads(result.output)
    assert rows[0]["length"] == 3 and rows[0]["cost_bits"] > 0


def test_eval_scores_the_best_validation_parameters_unless_told_last(runner, tmp_path):
    run = tmp_path / "run"
    args = ["train", "copy", "--run-dir", str(run), "--no-progress", *TINY]
    result = runner.invoke(main, [*args, "--train.eval_every=1", "--train.select_best=true"])
    assert result.exit_code == 0, result.output
    best_step = torch.load(run / "best.pt", weights_only=True)["step"]
    assert f"kept the best validation parameters, of step {best_step}:" in result.output
    result = runner.invoke(main, ["eval", str(run), "--json", "--sequences", "8"])
    assert json.loads(result.output)[0]["step"] == best_step
    result = runner.invoke(main, ["eval", str(run), "--json", "--sequences", "8", "--last"])
    assert json.loads(result.output)[0]["step"] == 4


def test_resume_continues_a_run(runner, tmp_path):
    run = tmp_path / "run"
    runner.invoke(main, ["train", "copy", "--run-dir", str(run), "--no-progress", *TINY])
    result = runner.invoke(main, ["resume", str(run), "--no-progress", "--train.steps=6"])
    assert result.exit_code == 0, result.output
    assert "step 6, 6 sequences" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "nosuchpreset"], "unknown preset 'nosuchpreset'"),
        (["train", "copy", "--train.nope=1"], "unknown config key 'train.nope'"),
        (["train", "copy", "--train.steps=many"], "expects int"),
        (["train", "copy", "train.steps=3"], "--section.key=value"),
        (["eval", "/nonexistent/run"], "no run folder"),
        (["eval", ".", "--lengths", "a,b"], "comma-separated integers"),
        (["train", "copy", "--train.steps=-5"], "steps must be an integer >= 1, got -5"),
        (["train", "copy", "--train.eval_every=0"], "eval_every must be an integer >= 1"),
        (["train", "copy", "--train.log_every=0"], "log_every must be an integer >= 1"),
        (["train", "copy", "--train.eval_sequences=0"], "eval_sequences must be an integer >= 1"),
        (["train", "copy", "--train.device=tpu"], "train.device must be one of cpu, cuda, mps"),
        (["train", "copy", "--model.memory_slots=2.5"], "expects int, got '2.5'"),
        (
            ["train", "copy", "--model.memory_slots=100000000000"],
            "needs about",  # refused before allocating
        ),
    ],
)
def test_user_mistakes_are_one_line_errors(runner, args, message):
    result = runner.invoke(main, args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_corrupt_checkpoint_is_reported(runner, tmp_path):
    run = tmp_path / "run"
    runner.invoke(main, ["train", "copy", "--run-dir", str(run), "--no-progress", *TINY])
    (run / "checkpoint.pt").write_bytes(b"not a checkpoint")
    result = runner.invoke(main, ["eval", str(run)])
    assert result.exit_code == 1
    assert "cannot be read" in result.output
    assert "Traceback" not in result.output


def test_interrupting_training_says_what_is_kept(runner, tmp_path, monkeypatch):
    from augrnn.train.loop import Trainer

    def interrupted(self, progress=True):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "train", interrupted)
    run = tmp_path / "run"
    result = runner.invoke(main, ["train", "copy", "--run-dir", str(run), *TINY])
    assert result.exit_code == 1
    assert "interrupted at step 0; no checkpoint was written" in result.output
    assert "augrnn resume" not in result.output  # nothing to resume from


def test_sweep_runs_in_parallel_processes_and_prints_the_table(runner, tmp_path):
    tiny_parity = [
        "--task.size=4",
        "--model.core.hidden_size=8",
        "--model.max_steps=4",
        "--train.batch_size=8",
        "--train.steps=4",
        "--train.eval_every=2",
        "--train.eval_sequences=16",
        "--train.tensorboard=false",
    ]
    out = tmp_path / "sweep"
    args = ["sweep", "parity", "--model.tau=1e-3,1e-2", "--seeds", "1", "--jobs", "2"]
    result = runner.invoke(main, [*args, "--out", str(out), *tiny_parity])
    assert result.exit_code == 0, result.output
    assert "| tau | seeds | sequence_error_rate |" in result.output
    assert (out / "tau=1e-3_seed0" / "result.json").is_file()
    assert (out / "sweep.png").is_file()
    bad = runner.invoke(main, ["sweep", "parity", "--model.epsilon=0.5,2", "--out", str(out)])
    assert bad.exit_code != 0 and "epsilon must be a number in (0, 1)" in bad.output
    for extra, message in (
        (["--address", "auto"], "--address names a Ray cluster"),
        (["--backend", "ray", "--jobs", "2"], "--jobs is the local backend's"),
        (["--backend", "ray", "--cpus-per-run", "0"], "--cpus-per-run must be >= 1"),
    ):
        bad = runner.invoke(main, ["sweep", "parity", "--out", str(out), *extra, *tiny_parity])
        assert bad.exit_code != 0 and message in bad.output, bad.output


def test_train_asked_for_several_processes_without_torchrun_says_to_use_it(
    runner, tmp_path, monkeypatch
):
    monkeypatch.setenv("WORLD_SIZE", "2")
    for name in ("RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    result = runner.invoke(main, ["train", "copy", "--run-dir", str(tmp_path / "run"), *TINY])
    assert result.exit_code == 1
    assert "WORLD_SIZE=2 asks for 2 processes" in result.output
    assert "torchrun --nproc_per_node=N -m augrnn train PRESET" in result.output
    assert not (tmp_path / "run").exists()


def test_eval_of_text_and_image_runs_adds_decoded_and_attention_figures(runner, tmp_path):
    small = ["--train.steps=2", "--train.eval_every=2", "--train.eval_sequences=8"]
    small += ["--train.tensorboard=false", "--model.hidden_size=16", "--model.embedding_size=8"]
    text_run, image_run = tmp_path / "reversal", tmp_path / "digits"
    assert (
        runner.invoke(main, ["train", "reversal", "--run-dir", str(text_run), *small]).exit_code
        == 0
    )
    image = ["train", "digit_row", "--run-dir", str(image_run), "--model.channels=8", *small]
    assert runner.invoke(main, image).exit_code == 0
    text = runner.invoke(
        main,
        ["eval", str(text_run), "--lengths", "5,7", "--sequences", "6", "--beam", "2", "--json"],
    )
    assert text.exit_code == 0, text.output
    rows = json.loads(text.output)
    assert [r["length"] for r in rows] == [5, 7]
    assert all(0.0 <= r["decoded_exact_match"] <= 1.0 for r in rows)
    digits = runner.invoke(main, ["eval", str(image_run), "--sequences", "6", "--json"])
    assert digits.exit_code == 0, digits.output
    (row,) = json.loads(digits.output)
    assert 0.0 <= row["attention_on_digit"] <= 1.0


def test_decoding_options_are_refused_for_a_model_that_does_not_decode(runner, tmp_path):
    run = tmp_path / "run"
    runner.invoke(main, ["train", "copy", "--run-dir", str(run), "--no-progress", *TINY])
    result = runner.invoke(main, ["eval", str(run), "--beam", "3"])
    assert result.exit_code != 0 and "--beam and --length-normalisation apply to models" in (
        result.output
    )


def test_help_and_the_docstring_list_every_command(runner):
    import augrnn.cli

    listed = runner.invoke(main, ["--help"]).output
    for name in main.commands:
        assert name in listed
        assert f"``{name}``" in augrnn.cli.__doc__
    assert {"predict", "ask", "models"} <= set(main.commands)


def test_models_lists_the_kinds_and_their_settings(runner):
    result = runner.invoke(main, ["models"])
    assert result.exit_code == 0, result.output
    assert (
        "ntm                core" in result.output and "seq2seq            model" in result.output
    )
    assert (
        "memory_slots = 128" in result.output and "core = (a [model.core] table)" in result.output
    )


def test_resume_applies_a_new_learning_rate_and_refuses_another_model(runner, tmp_path):
    run = tmp_path / "run"
    runner.invoke(main, ["train", "copy", "--run-dir", str(run), "--no-progress", *TINY])
    result = runner.invoke(
        main, ["resume", str(run), "--no-progress", "--train.steps=6", "--optim.lr=0.003"]
    )
    assert result.exit_code == 0, result.output
    assert load_checkpoint(run)["optimizer"]["param_groups"][0]["lr"] == 0.003
    refused = runner.invoke(main, ["resume", str(run), "--model.kind=lstm"])
    assert refused.exit_code == 1 and "keeps its preset, task and model kind" in refused.output
    assert "Traceback" not in refused.output


def test_a_diverged_run_says_exactly_what_is_kept(runner, tmp_path):
    run = tmp_path / "run"
    args = ["train", "copy", "--run-dir", str(run), "--no-progress", *TINY, "--optim.lr=1e30"]
    result = runner.invoke(main, [*args, "--optim.name=adam", "--optim.clip_value=none"])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "training stopped: the" in result.output
    kept = load_checkpoint(run)["step"] if (run / "checkpoint.pt").exists() else None
    if kept is None:
        assert "No checkpoint was written" in result.output
    else:
        assert f"The checkpoint of step {kept}" in result.output
        assert all(torch.isfinite(v).all() for v in load_checkpoint(run)["model"].values())


def test_eval_scores_other_task_settings_that_keep_the_model_s_sizes(runner, tmp_path):
    run = tmp_path / "run"
    runner.invoke(main, ["train", "copy", "--run-dir", str(run), "--no-progress", *TINY])
    longer = runner.invoke(main, ["eval", str(run), "--json", "--task.max_length=5"])
    assert longer.exit_code == 0, longer.output
    assert json.loads(longer.output)[0]["length"] == "given"
    plain = runner.invoke(main, ["eval", str(run), "--json"])
    assert json.loads(plain.output)[0]["length"] == "train"
    wider = runner.invoke(main, ["eval", str(run), "--task.bits=5"])
    assert wider.exit_code != 0 and "change the task's input or output size" in wider.output
    other = runner.invoke(main, ["eval", str(run), "--train.steps=5"])
    assert other.exit_code != 0 and "overrides of task and model settings only" in other.output


def test_eval_runs_on_the_threads_it_is_given(runner, tmp_path):
    run = tmp_path / "run"
    runner.invoke(main, ["train", "copy", "--run-dir", str(run), "--no-progress", *TINY])
    before = torch.get_num_threads()
    try:
        one = runner.invoke(main, ["eval", str(run), "--json", "--threads", "1"])
        assert one.exit_code == 0, one.output
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    none = runner.invoke(main, ["eval", str(run), "--threads", "0"])
    assert none.exit_code != 0 and "--threads must be >= 1, got 0" in none.output


def test_eval_takes_model_settings_that_keep_the_trained_parameters(runner, tmp_path):
    """A stack trained with room for its training episodes only is scored on longer ones with
    a larger capacity; a setting that changes the parameters' shapes is refused."""
    run = tmp_path / "run"
    small = [
        "--task.symbols=4", "--task.min_length=2", "--task.max_length=3",
        "--model.controller_size=6", "--model.memory_width=3", "--model.capacity=9",
        "--train.steps=2", "--train.eval_every=2", "--train.eval_sequences=8",
        "--train.batch_size=4", "--train.tensorboard=false",
    ]  # fmt: skip
    trained = runner.invoke(
        main, ["train", "transduction_reversal", "--run-dir", str(run), "--no-progress", *small]
    )
    assert trained.exit_code == 0, trained.output
    longer = ["eval", str(run), "--json", "--sequences=8", "--task.max_length=8"]
    too_small = runner.invoke(main, longer)
    assert too_small.exit_code != 0 and "capacity" in too_small.output
    roomy = runner.invoke(main, [*longer, "--model.capacity=19"])
    assert roomy.exit_code == 0, roomy.output
    assert 0 <= json.loads(roomy.output)[0]["coarse_accuracy"] <= 1
    reshaped = runner.invoke(main, ["eval", str(run), "--model.controller_size=7"])
    assert (
        reshaped.exit_code != 0 and "change the shapes of the trained parameters" in reshaped.output
    )
    kind = runner.invoke(main, ["eval", str(run), "--model.kind=lstm"])
    assert kind.exit_code != 0 and "not task.name or model.kind" in kind.output


def test_viz_writes_elsewhere_with_out_and_a_read_only_folder_is_a_clear_error(
    runner, tmp_path, monkeypatch
):
    from pathlib import Path

    run = tmp_path / "run"
    runner.invoke(main, ["train", "copy", "--run-dir", str(run), "--no-progress", *TINY])
    out = tmp_path / "figures"
    result = runner.invoke(main, ["viz", str(run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "report.html").is_file() and not (run / "viz").exists()

    def read_only(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", read_only)  # as a read-only folder answers
    refused = runner.invoke(main, ["viz", str(run)])
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert f"cannot write {run / 'viz'}: permission denied" in refused.output
    assert "--out DIR" in refused.output


def test_resume_says_when_there_is_nothing_to_train(runner, tmp_path):
    run = tmp_path / "run"
    runner.invoke(main, ["train", "copy", "--run-dir", str(run), "--no-progress", *TINY])
    result = runner.invoke(main, ["resume", str(run), "--no-progress", "--train.steps=2"])
    assert result.exit_code == 0, result.output
    assert "the run is at step 4, not below --train.steps=2: nothing to train" in result.output
