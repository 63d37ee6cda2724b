"""``augrnn answer``: a trained memory network answers a user's own story and shows each hop's
attention; a bad story or question, or a run of another model, is a clear error."""

import pytest
from click.testing import CliRunner

from augrnn.cli import main
from augrnn.train.config import load_preset
from augrnn.train.loop import Trainer

TINY = {
    "task.id": "1",
    "task.train_size": "16",
    "model.embedding_size": "6",
    "train.steps": "2",
    "train.eval_every": "2",
    "train.eval_sequences": "8",
    "train.tensorboard": "false",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "memn2n"
    Trainer(load_preset("babi_memn2n", TINY), folder).train(progress=False)
    return folder


def test_answer_prints_the_answer_and_each_hops_attention(run, tmp_path):
    story = tmp_path / "story.txt"
    story.write_text(
        "1 Mary went to the kitchen.\n2 John moved to the garden.\n"
        "3 Where is John?\tgarden\t2\nDaniel journeyed to the office.\n"
    )
    picture = tmp_path / "hops.png"
    result = CliRunner().invoke(
        main,
        ["answer", str(run), "Where is Mary?", "--story", str(story), "--picture", str(picture)],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("answer: ")
    assert lines[1].split() == ["hop1", "hop2", "hop3", "statement"]
    # The question line of the file is skipped: three statements.
    assert [line.split("  ")[-1] for line in lines[2:5]] == [
        "1. mary went to the kitchen",
        "2. john moved to the garden",
        "3. daniel journeyed to the office",
    ]
    for hop in range(3):
        assert sum(float(line.split()[hop]) for line in lines[2:5]) == pytest.approx(1, abs=0.02)
    assert picture.is_file() and picture.stat().st_size > 0


@pytest.mark.parametrize(
    "story, question, message",
    [
        ("Mary went to the wizard.\n", "Where is Mary?", "unknown word 'wizard'"),
        ("\n\n", "Where is Mary?", "the story has no statements"),
        ("Mary went to the kitchen.\n", "?", "the question is empty"),
    ],
)
def test_bad_stories_and_questions_are_clear_errors(run, tmp_path, story, question, message):
    path = tmp_path / "story.txt"
    path.write_text(story)
    result = CliRunner().invoke(main, ["answer", str(run), question, "--story", str(path)])
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output


def test_answer_needs_a_memory_network_run(tmp_path):
    other = tmp_path / "lstm"
    overrides = {**TINY, "model.hidden_size": "4"}
    del overrides["model.embedding_size"]
    Trainer(load_preset("babi_lstm", overrides), other).train(progress=False)
    story = tmp_path / "story.txt"
    story.write_text("Mary went to the kitchen.\n")
    result = CliRunner().invoke(
        main, ["answer", str(other), "Where is Mary?", "--story", str(story)]
    )
    assert result.exit_code != 0 and "answer needs a memory network run on babi" in result.output
