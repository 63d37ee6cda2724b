"""The run folder: what training writes, how runs load back (those saved before models had
configs of their own included), and the errors for folders that hold no run."""

import json
import shutil
import warnings
from pathlib import Path

import pytest
import torch

from augrnn.act import ACT, ACTConfig
from augrnn.cli import length_table
from augrnn.memory.ntm import NTMCell, NTMConfig
from augrnn.programmer import NeuralProgrammer, NeuralProgrammerConfig
from augrnn.train.checkpoint import CheckpointError, checkpoint_path, load_checkpoint
from augrnn.train.config import apply_overrides, config_from_dict, load_preset, parse_override_args
from augrnn.train.loop import Trainer
from augrnn.train.runs import best_evaluation, load_run, read_metrics

#: Runs trained before each model kind had a config of its own (a flat [model] of every model's
#: settings and an [act] section): ACT around a tiny NTM on copy, and a tiny Neural Programmer
#: that kept a best.pt (its settings under their old names, program_steps and
#: bidirectional_question).
LEGACY = Path(__file__).parent / "legacy_runs"


def tiny_config(extra: str = ""):
    """A tiny NTM on copy with 4-bit vectors, batches of 16."""
    sizes = {"task.bits": "4", "task.max_length": "4", "model.controller_size": "8"}
    sizes |= {"model.memory_slots": "8", "model.memory_width": "6", "train.batch_size": "16"}
    sizes |= {"train.eval_sequences": "20", "train.tensorboard": "false"}
    return load_preset("copy", {**sizes, **parse_override_args(extra.split())})


def test_checkpoint_contents_and_errors(tmp_path):
    run = tmp_path / "run"
    Trainer(tiny_config("--train.steps=3 --train.eval_every=3"), run).train(progress=False)
    config, task, model, payload = load_run(run)
    assert payload["step"] == payload["model_step"] == 3 and payload["sequences"] == 48
    assert best_evaluation(run) is None and not (run / "best.pt").exists()
    assert config.task.bits == 4 and task.input_size == 5
    assert not model.training
    assert not list(run.glob(".checkpoint-*"))  # no temporary file left behind
    saved = json.loads((run / "config.json").read_text())
    assert saved["task"]["name"] == "copy"

    with pytest.raises(FileExistsError, match="already holds a run"):
        Trainer(tiny_config("--train.steps=3"), run)
    with pytest.raises(CheckpointError, match="no run folder"):
        load_run(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_run(empty)
    data = checkpoint_path(run).read_bytes()
    checkpoint_path(run).write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_run(run)


def test_a_legacy_act_run_loads_as_act_around_its_ntm_and_scores_as_it_did():
    saved = load_checkpoint(LEGACY / "act_ntm")["config"]
    assert saved["act"]["halting"] == "act" and saved["model"]["kind"] == "ntm"
    config, task, model, payload = load_run(LEGACY / "act_ntm")
    assert isinstance(config.model, ACTConfig) and config.model.max_steps == 3
    assert isinstance(config.model.core, NTMConfig) and config.model.core.memory_slots == 4
    assert isinstance(model.core, ACT) and isinstance(model.core.core, NTMCell)
    logged = read_metrics(LEGACY / "act_ntm")[-1]
    (row,) = length_table(LEGACY / "act_ntm", None, config.train.eval_sequences)
    for name in ("cost_bits", "bit_errors", "ponder_steps"):
        assert row[name] == pytest.approx(logged[name], rel=1e-6), name


def test_a_legacy_programmer_run_loads_its_renamed_settings_and_its_best_parameters():
    config, _, model, payload = load_run(LEGACY / "programmer")
    assert isinstance(config.model, NeuralProgrammerConfig) and isinstance(model, NeuralProgrammer)
    assert config.model.steps == 4 and config.model.bidirectional  # program_steps, ...question
    assert config.model.program_search == 1000.0 and config.model.operation_noise == 1.0
    assert payload["model_step"] == 2
    best = best_evaluation(LEGACY / "programmer")
    (row,) = length_table(LEGACY / "programmer", None, config.train.eval_sequences)
    assert row["error_rate"] == pytest.approx(best["error_rate"])


def test_a_legacy_run_resumes_and_saves_its_config_in_todays_form(tmp_path):
    run = tmp_path / "act_ntm"
    shutil.copytree(LEGACY / "act_ntm", run)
    saved = load_checkpoint(run)["config"]
    # today's keys apply to a legacy config, as `augrnn resume RUN --model.tau=...` gives them
    overrides = {"train.steps": "4", "model.tau": "0.01"}
    resumed = Trainer(config_from_dict(apply_overrides(saved, overrides)), run, resume=True)
    assert resumed.step == 2 and resumed.model.core.tau == 0.01
    resumed.train(progress=False)
    written = json.loads((run / "config.json").read_text())
    assert "act" not in written and written["model"]["kind"] == "act"
    assert written["model"]["core"]["kind"] == "ntm"
    assert load_checkpoint(run)["config"] == written
    assert torch.isfinite(torch.tensor(read_metrics(run)[-1]["cost_bits"]))


def _trained(run: Path, extra: str = "") -> Path:
    Trainer(tiny_config(f"--train.steps=2 --train.eval_every=2 {extra}"), run).train(progress=False)
    return run


def test_a_checkpoint_copied_in_from_another_run_is_refused(tmp_path):
    ours = _trained(tmp_path / "ours")
    other = tmp_path / "other"
    Trainer(load_preset("parity_rnn", {"train.steps": "2", "train.eval_every": "2"}), other).train(
        progress=False
    )
    metrics = (ours / "metrics.jsonl").read_text()
    shutil.copy(other / "checkpoint.pt", ours / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="belongs to another run .*parity_rnn"):
        load_run(ours)
    with pytest.raises(CheckpointError, match="belongs to another run"):
        Trainer(tiny_config(), ours, resume=True)
    assert (ours / "metrics.jsonl").read_text() == metrics  # nothing appended


def test_a_best_checkpoint_of_another_run_is_refused(tmp_path):
    ours = _trained(tmp_path / "ours", "--train.select_best=true")
    other = _trained(tmp_path / "other", "--train.select_best=true --task.bits=5")
    other_config = load_checkpoint(other)["config"]
    other_config["preset"] = "elsewhere"  # another run: another identity
    payload = load_checkpoint(other, "best.pt")
    payload["identity"] = config_from_dict(other_config).identity()
    torch.save(payload, ours / "best.pt")
    with pytest.raises(CheckpointError, match="best.pt holds parameters of another run"):
        load_run(ours)


def test_parameters_that_do_not_fit_their_config_are_a_clear_error(tmp_path):
    run = _trained(tmp_path / "run")
    payload = load_checkpoint(run)
    payload["model"] = {k: v[..., :1] for k, v in payload["model"].items()}
    torch.save(payload, checkpoint_path(run))
    with pytest.raises(CheckpointError, match="do not fit the model its config describes"):
        load_run(run)


def test_unreadable_metrics_lines_are_skipped_naming_the_file_and_line(tmp_path):
    run = _trained(tmp_path / "run")
    lines = (run / "metrics.jsonl").read_text().splitlines()
    lines.insert(1, '{"split": "train", "step": 1, "seq')  # torn by a kill
    lines.insert(2, "[1, 2]")
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = read_metrics(run)
    assert len(records) == len(lines) - 2
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    assert "metrics.jsonl:2: skipped a line that is not a metrics record" in messages[0]
    assert "metrics.jsonl:3: skipped" in messages[1]


def test_an_unreadable_config_json_is_a_warning_and_the_checkpoint_s_config_is_used(tmp_path):
    run = _trained(tmp_path / "run")
    (run / "config.json").write_text("{not json")
    with pytest.warns(UserWarning, match="config.json cannot be read as a run's config"):
        config, *_ = load_run(run)
    assert config.task_name == "copy"
