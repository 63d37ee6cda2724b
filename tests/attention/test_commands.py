"""``augrnn predict``, the command the encoder-decoder adds: it decodes text with a trained run."""

import json

import pytest
from click.testing import CliRunner

from augrnn.cli import main

TINY_COPY = [
    "--task.bits=3",
    "--task.max_length=3",
    "--model.controller_size=8",
    "--model.memory_slots=8",
    "--model.memory_width=4",
    "--train.steps=2",
    "--train.eval_every=2",
    "--train.eval_sequences=8",
    "--train.tensorboard=false",
]


@pytest.fixture
def runner():
    return CliRunner()


def test_predict_decodes_text_and_reports_unknown_characters(runner, tmp_path):
    run = tmp_path / "reversal"
    tiny = [
        "--model.hidden_size=16",
        "--model.embedding_size=8",
        "--train.steps=4",
        "--train.eval_every=2",
        "--train.eval_sequences=16",
        "--train.tensorboard=false",
    ]
    trained = runner.invoke(main, ["train", "reversal", "--run-dir", str(run), *tiny])
    assert trained.exit_code == 0, trained.output
    result = runner.invoke(main, ["predict", str(run), "12345", "12x4", "--attention"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("12345 -> ")
    assert "   12345" in result.output  # the attention picture's header
    assert any(line.startswith("'12x4'") and "'x'" in line for line in lines)
    saved = tmp_path / "attention.json"
    beam = runner.invoke(main, ["predict", str(run), "54321", "--beam", "3", "--save", str(saved)])
    assert beam.exit_code == 0 and beam.output.startswith("54321 -> ")
    (record,) = json.loads(saved.read_text())
    assert record["source"] == "54321" and len(record["attention"]) == len(record["tokens"])
    assert all(len(row) == 5 and abs(sum(row) - 1) < 1e-5 for row in record["attention"])


def test_predict_refuses_runs_that_are_not_text_to_text(runner, tmp_path):
    run = tmp_path / "copy"
    assert runner.invoke(main, ["train", "copy", "--run-dir", str(run), *TINY_COPY]).exit_code == 0
    result = runner.invoke(main, ["predict", str(run), "hello"])
    assert result.exit_code != 0 and "predict needs a seq2seq run" in result.output
