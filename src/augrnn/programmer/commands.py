"""``augrnn ask``: the command that the Neural Programmer (kind ``programmer``) adds to the CLI."""

from __future__ import annotations

from pathlib import Path

import click
import torch

from augrnn.cli_support import friendly_errors
from augrnn.programmer.model import NeuralProgrammer
from augrnn.registry import describe_model
from augrnn.tasks.table_qa import TableQATask, read_table
from augrnn.train.runs import load_run

PICTURE_FORMATS = (".png", ".svg", ".pdf")


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("question")
@click.option(
    "--table",
    "table_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A CSV file: a header line naming the columns, then one line per row.",
)
@click.option(
    "--picture",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also draw the operation and column weights of each step to this PNG file.",
)
@friendly_errors
def ask(run_dir: Path, question: str, table_path: Path, picture: Path | None) -> None:
    """Answer QUESTION about the CSV table with a trained Neural Programmer (a table_qa run),
    and print the program it ran, e.g. `augrnn ask RUN --table t.csv "sum of price where qty >
    3"`."""
    if picture is not None and picture.suffix.lower() not in PICTURE_FORMATS:
        raise click.BadParameter(
            f"--picture must name a {', '.join(PICTURE_FORMATS)} file, got {picture}"
        )
    config, task, model, _ = load_run(run_dir)
    if not isinstance(task, TableQATask) or not isinstance(model, NeuralProgrammer):
        raise click.ClickException(
            f"{run_dir} holds a {describe_model(config.model)} run on {config.task_name}; ask "
            "needs a Neural Programmer run on table_qa (e.g. from `augrnn train table_qa_single`)"
        )
    batch, notes = task.question_batch(*read_table(table_path), question)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    with torch.no_grad():
        outputs, trace = model.traced(batch)  # the scored answers, and the soft selections
    click.echo(f"program: {model.program(batch, 0, task.column_names)}")
    click.echo(f"answer: {task.answer_text(outputs, batch)}")
    if picture is not None:
        from augrnn.programmer.views import programmer_selection

        picture.parent.mkdir(parents=True, exist_ok=True)
        programmer_selection(trace, batch, task, outputs, 0).savefig(picture, dpi=110)
        click.echo(f"picture: {picture}")
