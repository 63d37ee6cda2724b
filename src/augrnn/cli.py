"""The ``augrnn`` command line.

Its own commands: ``train``, ``resume``, ``eval``, ``sweep``, ``viz``, ``demo``, ``tasks``,
``models``, ``presets`` and ``bench``. Model kinds add theirs (:attr:`~augrnn.interface.
ModelKind.commands`): ``predict`` (the encoder-decoder, ``seq2seq``; with ``--audio``, Listen,
Attend and Spell), ``ask`` (the Neural Programmer, ``programmer``), ``answer`` (the memory
network, ``memn2n``), ``speech-corpus`` and ``speech-eval`` (``las``), and any a plugin's kinds
bring. ``augrnn --help`` lists them all.
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from pathlib import Path

import click
import torch

from augrnn.cli_support import friendly_errors
from augrnn.interface import EvaluationContext, is_core_field
from augrnn.registry import (
    PluginWarning,
    build_model,
    describe_model,
    import_reference,
    models,
    task_class,
    tasks,
)
from augrnn.train import distributed
from augrnn.train.checkpoint import load_checkpoint
from augrnn.train.config import (
    apply_overrides,
    config_from_dict,
    load_preset,
    parse_override_args,
    preset_names,
)
from augrnn.train.evaluation import evaluate, evaluation_set
from augrnn.train.loop import Trainer
from augrnn.train.runs import best_evaluation, load_run
from augrnn.train.sweep import BACKENDS, markdown_table, run_sweep, split_axes, write_summary

DEMO_LENGTHS = (20, 40, 60, 80, 120)
OVERRIDES_HELP = (
    "OVERRIDES are --section.key=value pairs, e.g. --train.batch_size=32 --task.max_length=30; "
    "an unknown key lists the valid ones."
)


def default_run_dir(name: str) -> Path:
    return Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="augrnn")
def main() -> None:
    """Augmented recurrent neural networks: train, evaluate and inspect them."""


def _train(config, run_dir: Path, progress: bool, resume: bool = False):
    """Train ``config`` in ``run_dir``: in this process, or as one of the processes torchrun
    started (:mod:`augrnn.train.distributed`). Returns the trainer and its result."""
    ranks, config.train.device = distributed.setup(config.train.device)
    try:
        trainer = Trainer(config, run_dir, resume=resume)
        params = sum(p.numel() for p in trainer.model.parameters())
        if ranks.is_main:
            processes = f" in {ranks.world_size} processes" if ranks.distributed else ""
            click.echo(
                f"{describe_model(config.model).upper()} ({params:,} parameters) on "
                f"{config.task_name}{processes}; run folder {run_dir}",
                err=True,
            )
        try:
            result = trainer.train(progress=progress)
        except KeyboardInterrupt:
            resume = (
                f" (continue with `augrnn resume {run_dir}`)"
                if trainer.saved_step is not None
                else ""
            )
            raise click.ClickException(
                f"interrupted at step {trainer.step:,}; {trainer.kept()}{resume}"
            ) from None
        except RuntimeError as err:
            if not (ranks.distributed and distributed.lost_peer(err)):
                raise
            raise click.ClickException(
                f"rank {ranks.rank} lost the other processes at step {trainer.step + 1:,} (one "
                f"of them stopped or was killed: {distributed.describe_lost_peer(err)}); "
                f"{trainer.kept()} (continue with `augrnn resume {run_dir}`, under torchrun "
                "with any number of processes or without)"
            ) from None
    except BaseException:
        distributed.teardown(wait=False)
        raise
    distributed.teardown()
    return trainer, result


def _summary(result, headline: str) -> str:
    metric = result.eval_metrics.get(headline, float("nan"))
    text = (
        f"step {result.step:,}, {result.sequences:,} sequences, {result.elapsed:.0f} s; "
        f"held-out {headline} {metric:.4f}" + (" (target reached)" if result.reached_target else "")
    )
    best = best_evaluation(result.run_dir)
    if best is not None:
        text += (
            f"; kept the best validation parameters, of step {best['step']:,}: held-out "
            f"{headline} {best[headline]:.4f}"
        )
    return text


@main.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    epilog=OVERRIDES_HELP,
)
@click.argument("preset")
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--progress/--no-progress", default=True, help="Show the live progress bar.")
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
@friendly_errors
def train(preset: str, run_dir: Path | None, progress: bool, overrides: tuple[str, ...]) -> None:
    """Train PRESET (a name from `augrnn presets` or a .toml file)."""
    config = load_preset(preset, parse_override_args(overrides))
    run_dir = run_dir or default_run_dir(config.preset)
    trainer, result = _train(config, run_dir, progress)
    if trainer.ranks.is_main:
        click.echo(_summary(result, trainer.task.headline_metric))
        click.echo(f"run folder: {run_dir}")


@main.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    epilog=OVERRIDES_HELP,
)
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--progress/--no-progress", default=True)
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
@friendly_errors
def resume(run_dir: Path, progress: bool, overrides: tuple[str, ...]) -> None:
    """Continue the run in RUN_DIR from its checkpoint (e.g. with a larger --train.steps)."""
    payload = load_checkpoint(run_dir)
    config = config_from_dict(apply_overrides(payload["config"], parse_override_args(overrides)))
    step = payload["step"]
    if step >= config.train.steps:
        click.echo(
            f"note: the run is at step {step:,}, not below --train.steps={config.train.steps:,}: "
            "nothing to train (give a larger --train.steps to go on)",
            err=True,
        )
    trainer, result = _train(config, run_dir, progress, resume=True)
    if trainer.ranks.is_main:
        click.echo(_summary(result, trainer.task.headline_metric))


def _parse_lengths(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        lengths = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}") from None
    if not lengths or min(lengths) < 0:
        raise click.BadParameter(f"lengths must be non-negative integers, got {text!r}")
    return lengths


def length_table(
    run_dir: Path,
    lengths: list[int] | None,
    sequences: int,
    beam: int = 1,
    length_normalisation: float = 0.0,
    best: bool = True,
    overrides: dict[str, str] | None = None,
) -> list[dict]:
    """Held-out metrics of a trained run at each of ``lengths`` (all episodes at that length),
    of its best validation parameters where it kept them (``best``) or else its last; each row
    names the training step of the parameters scored (``step``). The model adds its own
    metrics (:meth:`~augrnn.interface.Model.extra_metrics`): text-to-text runs
    ``decoded_exact_match``, outputs generated until EOS (greedy, or beam search with ``beam``
    > 1); image runs with attention ``attention_on_digit``. ``overrides`` (``{"task.key":
    "value"}``) score the run on episodes drawn with other task settings, e.g. table questions
    in phrasings held out of training; ``{"model.key": "value"}`` with model settings that keep
    its parameters, e.g. a larger stack capacity for longer episodes. The rows of the training
    range are labelled "train", or "given" when task settings were overridden."""
    config, task, model, payload = load_run(run_dir, best=best)
    overrides = overrides or {}
    if overrides:
        config, task, model = _with_overrides(config, task, model, overrides)
    range_label = "given" if any(key.startswith("task.") for key in overrides) else "train"
    if (beam != 1 or length_normalisation) and not model.decodes:
        raise click.BadParameter(
            f"--beam and --length-normalisation apply to models that decode text; "
            f"{run_dir} holds a {describe_model(config.model)}"
        )
    config.train.eval_sequences = sequences
    rows = []
    for length in lengths or [None]:
        batches = evaluation_set(task, config, length)
        metrics = evaluate(model, task, batches, "cpu")
        context = EvaluationContext(
            batches,
            config.train.eval_seed,
            sequences,
            config.train.eval_batch_size,
            length,
            beam,
            length_normalisation,
        )
        with torch.no_grad():
            metrics.update(model.extra_metrics(task, context))
        rows.append(
            {
                task.length_name: range_label if length is None else length,
                "step": payload["model_step"],
                **metrics,
            }
        )
    return rows


def _with_overrides(config, task, model, overrides: dict[str, str]):
    """The run's config, task and model with ``overrides`` applied: task settings that keep the
    task's name and its input and output sizes, which the model was built for, and model
    settings that keep the trained parameters' shapes (a stack's capacity, an ACT's step
    limit); the model keeps its trained parameters."""
    other = [
        key
        for key in overrides
        if not key.startswith(("task.", "model.")) or key in ("task.name", "model.kind")
    ]
    if other:
        raise click.BadParameter(
            "eval takes overrides of task and model settings only (--task.KEY=VALUE, "
            f"--model.KEY=VALUE; not task.name or model.kind), got "
            f"{', '.join('--' + key for key in other)}"
        )
    changed = config_from_dict(apply_overrides(config.to_dict(), overrides))
    changed_task = task_class(changed.task_name)(changed.task)
    sizes = (task.input_size, task.output_size)
    if (changed_task.input_size, changed_task.output_size) != sizes:
        raise click.BadParameter(
            f"these task settings change the task's input or output size from {sizes} to "
            f"{(changed_task.input_size, changed_task.output_size)}, which the model cannot read"
        )
    if any(key.startswith("model.") for key in overrides):
        rebuilt = build_model(changed.model, *sizes)
        try:
            rebuilt.load_state_dict(model.state_dict())
        except RuntimeError as err:
            detail = " ".join(str(err).split())
            raise click.BadParameter(
                "these model settings change the shapes of the trained parameters, so the run "
                f"cannot be scored with them: {detail[:200]}"
            ) from err
        model = rebuilt.eval()
    return changed, changed_task, model


def format_table(rows: list[dict]) -> str:
    columns = list(rows[0])
    formatted = [
        [f"{row[c]:.4f}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        for row in rows
    ]
    widths = [max(len(c), *(len(r[i]) for r in formatted)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in formatted]
    return "\n".join(lines)


@main.command(
    name="eval",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    epilog="OVERRIDES are --task.key=value pairs that score the run on episodes drawn with "
    "other task settings (those that keep the task's input and output sizes), e.g. "
    "--task.phrasings=heldout for table questions worded as in no training episode, and "
    "--model.key=value pairs of model settings that keep the trained parameters, e.g. "
    "--model.capacity=260 for a stack to hold longer episodes.",
)
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--lengths", help="Comma-separated lengths, e.g. 20,40,80,120 (default: training).")
@click.option("--sequences", default=1000, show_default=True, help="Episodes per length.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--beam", default=1, show_default=True, help="Text-to-text runs: beam size for decoding."
)
@click.option(
    "--length-normalisation",
    default=0.0,
    show_default=True,
    help="Text-to-text runs: α of the beam's length penalty ((5 + |Y|) / 6)^α.",
)
@click.option(
    "--last",
    is_flag=True,
    help="Score the last checkpoint, not the best validation one (runs with select_best).",
)
@click.option(
    "--threads",
    type=int,
    help="torch CPU threads (default: torch's; 1 beside other runs on a shared machine).",
)
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
@friendly_errors
def eval_command(
    run_dir: Path,
    lengths: str | None,
    sequences: int,
    as_json: bool,
    beam: int,
    length_normalisation: float,
    last: bool,
    threads: int | None,
    overrides: tuple[str, ...],
) -> None:
    """Evaluate a trained run: its task's metrics on held-out episodes at each length."""
    if sequences < 1:
        raise click.BadParameter(f"--sequences must be >= 1, got {sequences}")
    if beam < 1:
        raise click.BadParameter(f"--beam must be >= 1, got {beam}")
    if threads is not None:
        if threads < 1:
            raise click.BadParameter(f"--threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    rows = length_table(
        run_dir,
        _parse_lengths(lengths),
        sequences,
        beam,
        length_normalisation,
        best=not last,
        overrides=parse_override_args(overrides),
    )
    click.echo(json.dumps(rows, indent=2) if as_json else format_table(rows))


@main.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    epilog=OVERRIDES_HELP
    + " A value with commas is swept: --model.tau=1e-4,1e-3,1e-2 trains each value.",
)
@click.argument("preset")
@click.option("--seeds", default=1, show_default=True, help="Seeds per setting (0, 1, ...).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Sweep folder (default: runs/sweep-PRESET-TIME); rerun to finish an interrupted sweep.",
)
@click.option(
    "--jobs",
    default=1,
    show_default=True,
    help="Local backend: runs at a time, one CPU thread each if > 1.",
)
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default="local",
    show_default=True,
    help="Train the runs here, or as tasks on a Ray cluster (pip install 'augrnn[distributed]').",
)
@click.option(
    "--address",
    default=None,
    help="Ray backend: the cluster to join (e.g. auto, or ray://HOST:10001); default: start "
    "a Ray instance on this machine.",
)
@click.option(
    "--cpus-per-run",
    default=1,
    show_default=True,
    help="Ray backend: CPUs (and torch threads) each run takes.",
)
@click.option(
    "--gpus-per-run",
    default=0.0,
    show_default=True,
    help="Ray backend: GPUs each run takes (> 0 trains on cuda).",
)
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
@friendly_errors
def sweep(
    preset: str,
    seeds: int,
    out_dir: Path | None,
    jobs: int,
    backend: str,
    address: str | None,
    cpus_per_run: int,
    gpus_per_run: float,
    overrides: tuple[str, ...],
) -> None:
    """Train PRESET over a grid of settings and seeds; write a table and a plot."""
    if jobs < 1:
        raise click.BadParameter(f"--jobs must be >= 1, got {jobs}")
    if cpus_per_run < 1:
        raise click.BadParameter(f"--cpus-per-run must be >= 1, got {cpus_per_run}")
    if gpus_per_run < 0:
        raise click.BadParameter(f"--gpus-per-run must be >= 0, got {gpus_per_run}")
    parsed = parse_override_args(overrides)
    out_dir = out_dir or default_run_dir(f"sweep-{Path(preset).stem}")
    headline = task_class(load_preset(preset, split_axes(parsed)[1]).task_name).headline_metric
    results = run_sweep(
        preset,
        parsed,
        seeds,
        out_dir,
        jobs=jobs,
        backend=backend,
        address=address,
        cpus_per_run=cpus_per_run,
        gpus_per_run=gpus_per_run,
        echo=lambda line: click.echo(line, err=True),
    )
    rows, written = write_summary(results, headline, out_dir)
    click.echo(markdown_table(rows))
    click.echo("wrote " + ", ".join(str(path) for path in written))


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--example", default=0, show_default=True, help="Which held-out example to draw.")
@click.option("--length", type=int, default=None, help="Draw the example at this length.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the figures here (default: RUN_DIR/viz; for a run folder that is read-only).",
)
@friendly_errors
def viz(run_dir: Path, example: int, length: int | None, out_dir: Path | None) -> None:
    """Draw what a trained run does on one held-out example: PNG figures and an interactive
    report.html in RUN_DIR/viz/ (or --out)."""
    import matplotlib

    matplotlib.use("Agg")
    from augrnn.viz import visualise_run

    if length is not None and length < 0:
        raise click.BadParameter(f"--length must be >= 0, got {length}")
    if example < 0:
        raise click.BadParameter(f"--example must be >= 0, got {example}")
    result = visualise_run(run_dir, example, length, out_dir)
    for message in result.messages:
        click.echo(message, err=True)
    for path in result.paths:
        click.echo(str(path))


@main.command()
@click.option("--seed", default=0, show_default=True)
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--progress/--no-progress", default=True)
@friendly_errors
def demo(seed: int, run_dir: Path | None, progress: bool) -> None:
    """Train an NTM on copy (lengths 1-20) on the CPU, then test it on longer sequences."""
    config = load_preset("demo", {"train.seed": str(seed)})
    run_dir = run_dir or default_run_dir(f"demo-seed{seed}")
    click.echo(
        "Training a Neural Turing Machine to copy sequences of 1-20 random 8-bit vectors.\n"
        f"It stops when the held-out cost is below {config.train.target} bits per sequence "
        f"(or after {config.train.max_minutes:g} minutes).",
        err=True,
    )
    trainer, result = _train(config, run_dir, progress)
    click.echo(_summary(result, trainer.task.headline_metric))
    click.echo("\nLength generalisation (trained on lengths 1-20, 100 sequences per length):")
    click.echo(format_table(length_table(run_dir, list(DEMO_LENGTHS), 100)))
    click.echo(f"\nrun folder: {run_dir}   (augrnn eval {run_dir} --lengths 20,40,80,120)")


@main.command(name="tasks")
@click.option("--seed", default=0, show_default=True)
@friendly_errors
def tasks_command(seed: int) -> None:
    """List the tasks (plugins' included) and render one example of each."""
    generator = torch.Generator().manual_seed(seed)
    for name, cls in tasks.items():
        task = cls()
        low, high = task.train_lengths
        click.echo(f"== {name}: {cls.description}")
        click.echo(f"   {task.sizes_text()}, {task.length_name} {low}-{high} in training")
        click.echo(task.showcase(generator))
        click.echo()


@main.command(name="models")
@friendly_errors
def models_command() -> None:
    """List the model kinds (plugins' included): whether each is a recurrent core (which ACT and
    other wrappers can hold as [model.core]) and its settings with their defaults."""
    for name, kind in models.items():
        role = "core" if kind.is_core else "model"
        click.echo(f"{name:18s} {role:6s} {kind.description}")
        for f in dataclasses.fields(kind.config_class):
            default = f"(a [model.{f.name}] table)" if is_core_field(f) else repr(f.default)
            click.echo(f"{'':25s} {f.name} = {default}")
    for name, error in models.failures.items():
        click.echo(f"{name:18s} failed to load: {error}")


@main.command()
@friendly_errors
def presets() -> None:
    """List the presets."""
    for name in preset_names():
        config = load_preset(name)
        click.echo(f"{name:32s} {describe_model(config.model):24s} on {config.task_name}")


@main.command()
@click.argument("names", nargs=-1)
@click.option(
    "--batch-sizes", help="Comma-separated batch sizes, e.g. 1,32 (default: each benchmark's own)."
)
@click.option("--repeats", default=15, show_default=True, help="Timed calls per contender.")
@click.option("--warmup", default=3, show_default=True, help="Untimed calls per contender first.")
@click.option("--threads", type=int, help="torch CPU threads (default: torch's).")
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write every report to this JSON file.",
)
@click.option("--memory/--no-memory", default=True, show_default=True, help="Measure peak memory.")
@click.option(
    "--compile/--no-compile",
    default=True,
    show_default=True,
    help="Also time the torch.compile'd steps (each compiles for tens of seconds first).",
)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option(
    "--size",
    "size_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override one of the benchmarks' sizes, e.g. --size hidden_size=512 --size ponder=1,4 "
    "(repeatable; applies to every benchmark named, each of which must have it; an unknown "
    "key lists the known ones).",
)
@friendly_errors
def bench(
    names: tuple[str, ...],
    batch_sizes: str | None,
    repeats: int,
    warmup: int,
    threads: int | None,
    json_path: Path | None,
    memory: bool,
    compile: bool,
    device: str,
    size_pairs: tuple[str, ...],
) -> None:
    """Time the augmented models against their baselines: the benchmarks NAMES (default: ntm act
    attention programmer peers dnc stack memnet; scaling and dnc_scaling, each half an hour or more,
    run only when named; an unknown name lists the known ones). Prints a
    table per benchmark (medians over repeats, the contenders alternating within each repeat) and,
    with --json, writes every report to FILE."""
    from augrnn.bench import BENCHMARKS, Options
    from augrnn.bench.common import parse_sizes, set_threads

    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise click.BadParameter(
            f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}",
            param_hint="NAMES",
        )
    try:
        sizes = None if batch_sizes is None else [int(b) for b in batch_sizes.split(",")]
    except ValueError:
        raise click.BadParameter(
            f"expected comma-separated integers such as 1,32, got {batch_sizes!r}",
            param_hint="--batch-sizes",
        ) from None
    options = Options(
        batch_sizes=sizes,
        repeats=repeats,
        warmup=warmup,
        memory=memory,
        compile=compile,
        device=device,
        threads=threads,
    )
    default = [n for n, module in BENCHMARKS.items() if not getattr(module, "ON_REQUEST", False)]
    names = names or tuple(default)
    overrides = {}
    for name in names:
        try:
            overrides[name] = parse_sizes(name, BENCHMARKS[name].SIZES, size_pairs)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--size") from None
    set_threads(threads)
    reports = {}
    for name in names:
        module = BENCHMARKS[name]
        click.echo(f"== {name}: {module.__doc__.splitlines()[0]}")
        if overrides[name]:
            shown = {
                k: ",".join(map(str, v)) if isinstance(v, tuple) else v
                for k, v in overrides[name].items()
            }
            click.echo("sizes: " + ", ".join(f"{k}={v}" for k, v in shown.items()))
        report = module.run(options, **overrides[name])
        click.echo(
            f"torch {report['torch']}, {report['threads']} threads, {report['device']}, "
            f"medians of {repeats}; {report['processor'] or 'processor unknown'} "
            f"({report['cpu_capability']}, {report['cpu_count']} cores)"
        )
        click.echo(module.table(report) + "\n")
        reports[name] = report
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({"benchmarks": reports}, indent=2) + "\n")
        click.echo(f"wrote {json_path}")


def load_kind_commands() -> None:
    """Add the commands of every model kind (built-in and plugins'); a plugin that fails to load,
    or a command that fails to import, is named on stderr and left out."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PluginWarning)
        for name, kind in models.items():
            for reference in kind.commands:
                try:
                    command = import_reference(reference, f"command of model kind {name!r}")
                except ValueError as err:
                    warnings.warn(str(err), PluginWarning, stacklevel=1)
                    continue
                if command.name not in main.commands:
                    main.add_command(command)
        tasks.names()
    for warning in caught:
        if issubclass(warning.category, PluginWarning):
            click.echo(f"augrnn: warning: {warning.message}", err=True)
        else:
            warnings.showwarning(
                warning.message, warning.category, warning.filename, warning.lineno
            )


load_kind_commands()


def run() -> None:
    """The ``augrnn`` command. A process that torchrun started ends through
    :func:`augrnn.train.distributed.exit_rank`, with the command's exit status."""
    try:
        launched = distributed.launched_world_size() > 1
    except distributed.DistributedError:
        launched = False  # the command itself reports the malformed WORLD_SIZE
    if not launched:
        main(prog_name="augrnn")
        return
    try:
        main(prog_name="augrnn")
    except SystemExit as stop:
        distributed.exit_rank(stop.code)
    distributed.exit_rank(0)


if __name__ == "__main__":  # pragma: no cover
    run()
