"""``augrnn predict``: the command that the encoder-decoders add to the CLI (the kinds
``seq2seq`` and, for recordings, ``las``)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import torch

from augrnn.attention.seq2seq import Seq2Seq
from augrnn.cli_support import friendly_errors
from augrnn.registry import describe_model
from augrnn.tasks.text import Seq2SeqTask
from augrnn.train.runs import load_run
from augrnn.viz.views import spectrogram_alignment, token_label


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("texts", nargs=-1)
@click.option(
    "--audio",
    "audio_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A WAV file to transcribe (a run on speech); may be given several times.",
)
@click.option("--beam", default=1, show_default=True, help="Beam size (1: greedy decoding).")
@click.option(
    "--length-normalisation",
    default=0.0,
    show_default=True,
    help="α of the beam's length penalty ((5 + |Y|) / 6)^α.",
)
@click.option("--max-length", default=100, show_default=True, help="Most tokens to write.")
@click.option(
    "--attention",
    "show_attention",
    is_flag=True,
    help="Print the attention weights; for audio, save the alignment over the spectrogram as "
    "RUN/predict/NAME.attention.png.",
)
@click.option(
    "--save",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write each text, its output and its attention weights to this JSON file.",
)
@friendly_errors
def predict(
    run_dir: Path,
    texts: tuple[str, ...],
    audio_files: tuple[Path, ...],
    beam: int,
    length_normalisation: float,
    max_length: int,
    show_attention: bool,
    save: Path | None,
) -> None:
    """Decode each of TEXTS with a trained sequence-to-sequence run (e.g. a date to ISO 8601),
    or transcribe each --audio WAV file with a run on speech (e.g. from `augrnn train
    las_digits`)."""
    if beam < 1:
        raise click.BadParameter(f"--beam must be >= 1, got {beam}")
    if max_length < 1:
        raise click.BadParameter(f"--max-length must be >= 1, got {max_length}")
    if not texts and not audio_files:
        raise click.UsageError("give texts to decode, or --audio FILE.wav to transcribe")
    config, task, model, _ = load_run(run_dir)
    if not isinstance(task, Seq2SeqTask) or not model.decodes:
        raise click.ClickException(
            f"{run_dir} holds a {describe_model(config.model)} run on {task.name}; predict needs "
            "an encoder-decoder run on a text-to-text task (e.g. from `augrnn train dates`) or "
            "on speech (e.g. from `augrnn train las_digits`)"
        )
    if audio_files:
        saved, refused = transcribe_files(
            run_dir, task, model, audio_files, beam, length_normalisation, max_length,
            show_attention,
        )  # fmt: skip
        _save_predictions(save, saved)
        if refused:
            raise click.ClickException(f"{refused} of {len(audio_files)} files could not be read")
        return
    if not isinstance(model, Seq2Seq):
        raise click.ClickException(
            f"{run_dir} holds a {describe_model(config.model)} run on {task.name}: it reads "
            "audio, not texts; give --audio FILE.wav"
        )
    saved, refused = [], 0
    for text in texts:
        try:
            notes = task.source_notes(text)
            source = task.encode_source(text)
        except ValueError as err:
            click.echo(f"{text!r}: not read: {err}", err=True)
            refused += 1
            continue
        for note in notes:
            click.echo(f"note: {text!r}: {note}", err=True)
        with torch.no_grad():
            decoded = model.decode(source, None, max_length, beam, length_normalisation)
        output = task.decode_target(decoded.tokens[0])
        problem = task.output_problem(text, output)
        click.echo(f"{text} -> {output}" + (f"   [{problem}]" if problem else ""))
        if show_attention:
            click.echo(attention_picture(text, output, decoded.attention[0]))
        saved.append(
            {
                "source": text,
                "output": output,
                "valid": problem is None,
                "problem": problem,
                "notes": notes,
                "tokens": decoded.tokens[0],
                "log_prob": decoded.log_probs[0],
                "attention": decoded.attention[0].tolist(),
            }
        )
    _save_predictions(save, saved)
    if refused:
        raise click.ClickException(f"{refused} of {len(texts)} texts could not be read")


def _save_predictions(save: Path | None, saved: list[dict]) -> None:
    if save is not None:
        save.parent.mkdir(parents=True, exist_ok=True)
        save.write_text(json.dumps(saved, indent=1))
        click.echo(f"wrote {save}")


def transcribe_files(
    run_dir: Path,
    task: Seq2SeqTask,
    model,
    paths: tuple[Path, ...],
    beam: int,
    length_normalisation: float,
    max_length: int,
    draw: bool,
) -> tuple[list[dict], int]:
    """Transcribe each WAV file (``task.encode_file`` reads it); with ``draw``, save each
    alignment over the spectrogram as ``RUN/predict/NAME.attention.png``. Returns what was
    heard and how many files were refused."""
    saved, refused = [], 0
    for path in paths:
        try:
            features, notes = task.encode_file(path)
        except ValueError as err:
            click.echo(f"{path}: not read: {err}", err=True)
            refused += 1
            continue
        for note in notes:
            click.echo(f"note: {path}: {note}", err=True)
        with torch.no_grad():
            decoded = model.decode(features, None, max_length, beam, length_normalisation)
        output = task.decode_target(decoded.tokens[0])
        click.echo(f"{path} -> {output}")
        entry = {
            "audio": str(path),
            "output": output,
            "notes": notes,
            "seconds": features.shape[0] / 100,
            "tokens": decoded.tokens[0],
            "log_prob": decoded.log_probs[0],
            "attention": decoded.attention[0].tolist(),
        }
        if draw and decoded.attention[0].numel():
            labels = [token_label(task.target_vocab, t) for t in decoded.tokens[0]]
            figure = spectrogram_alignment(
                features[:, 0].numpy(), labels, decoded.attention[0].numpy(),
                f"{path.name}: heard {output!r}",
            )  # fmt: skip
            picture = Path(run_dir) / "predict" / f"{path.stem}.attention.png"
            picture.parent.mkdir(parents=True, exist_ok=True)
            figure.savefig(picture, dpi=110)
            entry["picture"] = str(picture)
            click.echo(f"wrote {picture}")
        saved.append(entry)
    return saved, refused


def attention_picture(source: str, output: str, weights: torch.Tensor) -> str:
    """Attention weights (output steps x source positions) as text: one row per output symbol,
    shades from ' ' (0) to '@' (1)."""
    shades = " .:-=+*#%@"
    rows = [f"   {source}"]
    symbols = [*output, "<end>"]
    for t, row in enumerate(weights):
        cells = "".join(shades[min(int(w * len(shades)), len(shades) - 1)] for w in row.tolist())
        label = symbols[t] if t < len(symbols) else "?"
        rows.append(f"{label[:2]:>2} {cells}")
    return "\n".join(rows)
