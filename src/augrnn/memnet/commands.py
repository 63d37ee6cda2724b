"""``augrnn answer``: the command that the memory networks (kinds ``memn2n`` and ``dmn``) add to
the CLI."""

from __future__ import annotations

from pathlib import Path

import click
import torch

from augrnn.cli_support import friendly_errors
from augrnn.memnet.dmn import DMN
from augrnn.memnet.memn2n import MemN2N
from augrnn.registry import describe_model
from augrnn.train.runs import load_run

PICTURE_FORMATS = (".png", ".svg", ".pdf")


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("question")
@click.option(
    "--story",
    "story_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A text file: the story, one statement a line.",
)
@click.option(
    "--picture",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also draw each hop's attention over the statements to this PNG file.",
)
@friendly_errors
def answer(run_dir: Path, question: str, story_path: Path, picture: Path | None) -> None:
    """Answer QUESTION about the story in a text file with a trained memory network (a babi
    run), and show which statements each hop read, e.g. `augrnn answer RUN --story s.txt
    "Where is the milk?"`."""
    if picture is not None and picture.suffix.lower() not in PICTURE_FORMATS:
        raise click.BadParameter(
            f"--picture must name a {', '.join(PICTURE_FORMATS)} file, got {picture}"
        )
    config, task, model, _ = load_run(run_dir)
    if not isinstance(model, MemN2N | DMN) or not hasattr(task, "question_batch"):
        raise click.ClickException(
            f"{run_dir} holds a {describe_model(config.model)} run on {config.task_name}; answer "
            "needs a memory network run on babi (e.g. from `augrnn train babi_memn2n`)"
        )
    try:
        batch, notes = task.question_batch(story_path.read_text(encoding="utf-8"), question)
    except ValueError as err:
        raise click.ClickException(str(err)) from None
    for note in notes:
        click.echo(f"note: {note}", err=True)
    with torch.no_grad():
        logits, trace = model.traced(batch)
    attention = trace.stack("memory_attention")[:, 0]  # (K, S)
    click.echo(f"answer: {task.answer_text(int(logits[-1, 0].argmax()))}")
    hops = " ".join(f"hop{k + 1:<2d}" for k in range(attention.shape[0]))
    click.echo(f"{hops}  statement")
    for j, text in enumerate(task.statements(batch, 0)):
        weights = " ".join(f"{float(p):5.2f}" for p in attention[:, j])
        click.echo(f"{weights}  {j + 1}. {text}")
    if picture is not None:
        from augrnn.memnet.views import memory_hops

        picture.parent.mkdir(parents=True, exist_ok=True)
        memory_hops(trace, batch, task, logits, 0).savefig(picture, dpi=110)
        click.echo(f"picture: {picture}")
