"""The commands the speech models add: ``augrnn speech-corpus`` and ``augrnn speech-eval``."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import click
import torch

from augrnn.cli_support import friendly_errors
from augrnn.speech.las import LAS, decoded_error_rates
from augrnn.tasks.speech.corpus import corpus_for, snr_name
from augrnn.tasks.speech.task import SpeechTask
from augrnn.train.config import load_preset, parse_override_args
from augrnn.train.runs import load_run


@click.command("speech-corpus", context_settings={"ignore_unknown_options": True})
@click.argument("preset", default="las_digits")
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
@click.option("--workers", default=0, help="Processes that synthesise (0: one per core).")
@friendly_errors
def speech_corpus(preset: str, overrides: tuple[str, ...], workers: int) -> None:
    """Generate and cache the spoken corpus of PRESET (e.g. --task.train_utterances=20000)."""
    config = load_preset(preset, parse_override_args(overrides))
    if config.task_name != "speech":
        raise click.ClickException(f"{preset} is a preset of {config.task_name}, not of speech")
    task = SpeechTask(config.task)
    start = time.perf_counter()
    corpus = corpus_for(task.spec, workers=workers or None)
    seconds = time.perf_counter() - start
    path = task.spec.folder() / "corpus.pt"
    for name, split in corpus.splits.items():
        hours = float(split.offsets[-1]) / 100 / 3600
        click.echo(f"{name}: {len(split)} utterances, {hours:.2f} h of audio")
    click.echo(f"{path} ({path.stat().st_size / 2**20:.0f} MiB), ready in {seconds:.0f} s")


def held_out_batches(task: SpeechTask, length: int | None, batch_size: int) -> list:
    """Every held-out utterance at the task's ``eval_snr`` of size ``length`` (None: of a
    training size), once each, in batches of ``batch_size``."""
    split = task.evaluation_split()
    pool = task.pool(split, length)
    utterances = task.corpus.split(split)
    return [
        task.make_speech_batch(utterances, pool[start : start + batch_size])
        for start in range(0, len(pool), batch_size)
    ]


def alignment_shape(alignments: list[torch.Tensor]) -> dict[str, float]:
    """How monotonic and sharp alignments are: over every output step after the first,
    ``monotonic``, the fraction whose most attended step is not before the previous one's, and
    over every step ``sharpness``, the mean largest weight."""
    forward = steps = 0
    peaks = []
    for alignment in alignments:
        if len(alignment) == 0:
            continue
        peak = alignment.argmax(-1)
        forward += int((peak[1:] >= peak[:-1]).sum())
        steps += len(peak) - 1
        peaks.append(alignment.max(-1).values)
    return {
        "monotonic": forward / max(steps, 1),
        "sharpness": float(torch.cat(peaks).mean()) if peaks else math.nan,
    }


@click.command("speech-eval")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--beam", default=1, show_default=True, help="Beam size of LAS (1: greedy; CTC: 1 only)."
)
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None)
@friendly_errors
def speech_eval(run_dir: Path, beam: int, json_path: Path | None) -> None:
    """Error rates of a speech run on held-out voices at every SNR and every size, each
    held-out utterance once, and (LAS) how monotonic and sharp its alignments are."""
    config, task, model, _ = load_run(run_dir)
    if not isinstance(task, SpeechTask):
        raise click.ClickException(f"{run_dir} is a run on {task.name}, not on speech")
    if beam < 1:
        raise click.BadParameter(f"--beam must be >= 1, got {beam}")
    torch.set_num_threads(max(1, config.train.threads or 1))
    results: dict[str, dict] = {"snr": {}, "size": {}}
    low, high = task.train_lengths

    def score(length, alignments=None):
        batches = held_out_batches(task, length, config.train.eval_batch_size)
        rates, attention = decoded_error_rates(model, task, batches, beam)
        if alignments is not None:
            alignments += attention
        return rates

    click.echo("held-out voices, training sizes, by SNR (dB):")
    alignments: list[torch.Tensor] = []
    for snr in task.spec.test_snrs:
        task.config.eval_snr = snr_name(snr)
        metrics = score(None, alignments if math.isinf(snr) else None)
        results["snr"][snr_name(snr)] = metrics
        click.echo(_line(snr_name(snr), metrics))
    task.config.eval_snr = "clean"
    click.echo(f"held-out voices, clean, by {task.length_name} (trained on {low}-{high}):")
    for size in range(task.spec.min_size, task.spec.long_max + 1):
        metrics = score(size)
        results["size"][size] = metrics
        click.echo(_line(str(size), metrics))
    if isinstance(model, LAS) and model.attention is not None:
        results["alignment"] = alignment_shape(alignments)
        shape = results["alignment"]
        click.echo(
            f"alignments (clean): {shape['monotonic']:.3f} of steps move forward or stay, "
            f"mean peak weight {shape['sharpness']:.3f}"
        )
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=1))
        click.echo(f"wrote {json_path}")


def _line(label: str, metrics: dict[str, float]) -> str:
    return (
        f"  {label:>6}: CER {metrics['character_error_rate']:.4f}  "
        f"WER {metrics['word_error_rate']:.4f}  "
        f"sentences wrong {metrics['sentence_error_rate']:.4f}"
    )
