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
    assert result.exit_code == 1, result.output  # one text could not be read
    lines = result.output.splitlines()
    assert lines[0].startswith("12345 -> ")
    assert "   12345" in result.output  # the attention picture's header
    assert any(line.startswith("'12x4': not read") and "'x'" in line for line in lines)
    assert "1 of 2 texts could not be read" in result.output
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
    assert result.exit_code != 0 and "predict needs an encoder-decoder run" in result.output


def test_predict_checks_dates_and_flags_impossible_ones(runner, tmp_path):
    import datetime

    run = tmp_path / "dates"
    tiny = ["--model.hidden_size=16", "--model.embedding_size=8", "--train.steps=2"]
    tiny += ["--train.eval_every=2", "--train.eval_sequences=8", "--train.tensorboard=false"]
    assert runner.invoke(main, ["train", "dates", "--run-dir", str(run), *tiny]).exit_code == 0
    blank = runner.invoke(main, ["predict", str(run), "   "])
    assert blank.exit_code == 1 and "dates needs a source text" in blank.output
    texts = ["March 3, 1999", "March 3, 1850", "3 March 1999 " + "1999 " * 20]
    result = runner.invoke(main, ["predict", str(run), *texts, "--save", str(tmp_path / "p.json")])
    assert result.exit_code == 0, result.output
    assert "the year 1850 is outside the years trained on (1950-2049)" in result.output
    assert "more than any training date (29)" in result.output
    for record in json.loads((tmp_path / "p.json").read_text()):
        try:
            datetime.date.fromisoformat(record["output"])
            real = len(record["output"]) == 10
        except ValueError:
            real = False
        assert record["valid"] == real
        line = next(x for x in result.output.splitlines() if x.startswith(record["source"] + " ->"))
        assert ("[" in line) == (not real)  # an impossible date is flagged, never passed off
