"""`augrnn ask`: a trained Neural Programmer answers a question about a user's CSV table."""

import pytest
from click.testing import CliRunner

from augrnn.cli import main
from augrnn.programmer import OPERATIONS
from augrnn.train.checkpoint import BEST_NAME, load_checkpoint, save_checkpoint

TINY = [
    "--task.columns=2",
    "--task.text_columns=1",
    "--task.min_rows=3",
    "--task.max_rows=6",
    "--model.embedding_size=4",
    "--model.hidden_size=8",
    "--model.steps=1",
    "--train.steps=2",
    "--train.eval_every=2",
    "--train.eval_sequences=8",
    "--train.tensorboard=false",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny one-step run (T = 1), so that a chosen operation and column make the program."""
    run_dir = tmp_path_factory.mktemp("ask") / "run"
    result = CliRunner().invoke(
        main, ["train", "table_qa_single", "--run-dir", str(run_dir), "--no-progress", *TINY]
    )
    assert result.exit_code == 0, result.output
    return run_dir


def _choose(run_dir, op, column):
    """Set the run's selector to choose ``op`` and ``column`` whatever the question, in the
    parameters ``ask`` reads: best.pt, the best validation parameters the preset keeps."""
    payload = load_checkpoint(run_dir, BEST_NAME)
    state = payload["model"]
    for name, embeddings, index in (("op", "op_embeddings", op), ("col", "col_embeddings", column)):
        state[f"{name}_hidden.weight"][0] = 0.0
        state[f"{name}_hidden.bias"][0] = 1.0
        state[embeddings].zero_()
        state[embeddings][index, 0] = 50.0
    save_checkpoint(run_dir, payload, BEST_NAME)


def _csv(tmp_path, text):
    path = tmp_path / "table.csv"
    path.write_text(text)
    return str(path)


def test_ask_prints_the_program_and_its_answer(run, tmp_path):
    run_dir = run
    _choose(run_dir, OPERATIONS.index("sum"), 1)
    table = _csv(tmp_path, "price,qty,color\n10,3,red\n-4,5,blue\n7,1.5,red\n")
    result = CliRunner().invoke(main, ["ask", str(run_dir), "--table", table, "sum of qty"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == 'program: sum(col="qty")'
    assert lines[1] == "answer: 9.5"


def test_ask_prints_a_lookup_answer_with_its_cell(run, tmp_path):
    run_dir = run
    _choose(run_dir, OPERATIONS.index("print"), 0)
    table = _csv(tmp_path, "price,qty,color\n10,3,red\n-4,5,blue\n")
    picture = tmp_path / "selection.png"
    result = CliRunner().invoke(
        main,
        [
            "ask",
            str(run_dir),
            "--table",
            table,
            "what is the greatest price?",
            "--picture",
            picture,
        ],
    )
    assert result.exit_code == 0, result.output
    assert picture.read_bytes().startswith(b"\x89PNG") and f"picture: {picture}" in result.output
    assert 'program: print(col="price")' in result.output
    assert "answer: 10 (row 1, price), -4 (row 2, price)" in result.output


@pytest.mark.parametrize(
    ("table", "question", "message"),
    [
        ("price,qty\n1,x\n", "sum of qty", "row 1, column 'qty': 'x' is not a number"),
        ("price,qty\n" + "1,2\n" * 7, "sum of qty", "7 rows but the model was trained on"),
        ("price,qty,color,age\n1,2,red,3\n", "sum of qty", "4 columns but the model was trained"),
        ("price,size\n1,2\n", "sum of qty", "column 'size' is not one the model was trained on"),
        ("price,qty\n1,2\n", "bonjour le monde 7", "none of the words of 'bonjour le monde 7'"),
        ("", "sum of qty", "the table is empty"),
        ("price,qty\n", "sum of qty", "the table is empty"),
        ("price,color\n1,purple\n", "sum of price", "'purple' is not a word the model knows"),
        ("price,qty\n1,2,3\n", "sum of qty", "row 1 has 3 cells but the header names 2"),
    ],
)
def test_bad_input_gets_a_one_line_error(run, tmp_path, table, question, message):
    run_dir = run
    result = CliRunner().invoke(
        main, ["ask", str(run_dir), "--table", _csv(tmp_path, table), question]
    )
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_missing_table_file_or_run_is_a_clear_error(run, tmp_path):
    run_dir = run
    result = CliRunner().invoke(
        main, ["ask", str(run_dir), "--table", str(tmp_path / "no.csv"), "x"]
    )
    assert result.exit_code != 0 and "does not exist" in result.output
    result = CliRunner().invoke(
        main, ["ask", str(tmp_path / "nothing"), "--table", _csv(tmp_path, "price\n1\n"), "sum"]
    )
    assert result.exit_code != 0 and "Traceback" not in result.output


def test_notes_name_unknown_words_and_absent_columns(run, tmp_path):
    run_dir = run
    table = _csv(tmp_path, "qty\n1\n2\n")
    result = CliRunner().invoke(main, ["ask", str(run_dir), "--table", table, "sum of qty please"])
    assert result.exit_code == 0, result.output
    assert "note: words the model does not know were left out: please" in result.stderr
    assert "note: the table lacks column(s) price, color" in result.stderr


def test_a_picture_goes_into_a_new_folder_and_a_bad_format_is_refused_first(run, tmp_path):
    table = _csv(tmp_path, "price,qty\n10,3\n-4,5\n")
    picture = tmp_path / "new" / "folder" / "steps.png"
    result = CliRunner().invoke(
        main, ["ask", str(run), "--table", table, "sum of qty", "--picture", str(picture)]
    )
    assert result.exit_code == 0, result.output
    assert picture.read_bytes().startswith(b"\x89PNG")
    bad = CliRunner().invoke(
        main, ["ask", str(run), "--table", table, "sum of qty", "--picture", "steps.txt"]
    )
    assert bad.exit_code != 0 and "--picture must name a .png, .svg, .pdf file" in bad.output
    assert "answer:" not in bad.output  # refused before any work


@pytest.mark.parametrize(
    ("table", "question", "message"),
    [
        ("price,qty\n1,nan\n", "sum of qty", "row 1, column 'qty': 'nan' is not a number the"),
        ("price,qty\n1,inf\n", "sum of qty", "row 1, column 'qty': 'inf' is not a number the"),
        ("price,qty\n1,1e400\n", "sum of qty", "'1e400' is not a number the model can compute"),
        ("price,qty\n1,2\n", "how many qty are above nan", "the question: 'nan' is not a number"),
    ],
)
def test_cells_and_numbers_that_are_not_finite_are_refused(run, tmp_path, table, question, message):
    result = CliRunner().invoke(main, ["ask", str(run), "--table", _csv(tmp_path, table), question])
    assert result.exit_code != 0 and message in result.output
    assert "answer:" not in result.output and "Traceback" not in result.output


def test_numbers_beyond_the_trained_range_are_noted(run, tmp_path):
    table = _csv(tmp_path, "price,qty\n1,2\n5000,3\n")
    result = CliRunner().invoke(main, ["ask", str(run), "--table", table, "sum of price"])
    assert result.exit_code == 0, result.output
    assert "numbers up to 5000 in size, beyond the ±200" in result.output
