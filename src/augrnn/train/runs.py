"""A run folder, as training writes it and ``eval``, ``viz`` and the model commands read it.

RUN/config.json     the run's configuration (Config.to_dict)
RUN/metrics.jsonl   one JSON object per line: split ("train", "eval", "validation",
                    "trial", "trial_train"), step, sequences and that split's figures
RUN/checkpoint.pt   everything needed to resume exactly (:mod:`augrnn.train.checkpoint`)
RUN/best.pt         with ``train.select_best``: the parameters that scored best on the
                    validation set
RUN/tensorboard/    the same scalars for TensorBoard, when it is installed
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from torch import nn

from augrnn.interface import Model
from augrnn.registry import build_model, describe_model, task_class
from augrnn.tasks.base import Task
from augrnn.train.checkpoint import (
    BEST_NAME,
    CHECKPOINT_NAME,
    CheckpointError,
    best_path,
    load_checkpoint,
    write_atomically,
)
from augrnn.train.config import Config, ConfigError, config_from_dict

METRICS_NAME = "metrics.jsonl"
CONFIG_NAME = "config.json"


def write_config(run_dir: Path, config: Config) -> None:
    """Write ``RUN/config.json`` atomically (a temporary file renamed over the old one)."""
    text = json.dumps(config.to_dict(), indent=2)
    write_atomically(run_dir / CONFIG_NAME, lambda f: f.write(text.encode()))


class MetricsLog:
    """Appends one JSON object per line to ``metrics.jsonl`` and mirrors scalars to TensorBoard.

    ``keep_bytes``: how much of an existing file belongs to the run as its checkpoint left it
    (:meth:`size` when the checkpoint was written; None: nothing, a run from scratch). The rest,
    the records of steps that a resumed run trains again and a line torn by a kill mid-write,
    is cut off, so the file holds each step once. ``purge_step``: TensorBoard drops its events
    from this step on (those a resumed run writes again)."""

    def __init__(
        self,
        run_dir: Path,
        tensorboard: bool,
        keep_bytes: int | None = None,
        purge_step: int | None = None,
    ):
        self.path = run_dir / METRICS_NAME
        self._cut(keep_bytes)
        self.writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                warnings.warn(
                    "TensorBoard is not installed (pip install 'augrnn[tensorboard]'); "
                    f"metrics go to {self.path} only",
                    stacklevel=2,
                )
            else:
                self.writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=purge_step)

    def _cut(self, keep_bytes: int | None) -> None:
        if not self.path.is_file():
            return
        size = self.path.stat().st_size
        keep = min(keep_bytes or 0, size)
        if keep < size:
            with self.path.open("r+b") as f:
                f.truncate(keep)

    def size(self) -> int:
        """The file's length in bytes (0 before its first record)."""
        return self.path.stat().st_size if self.path.is_file() else 0

    def write(self, split: str, step: int, sequences: int, values: dict[str, float]) -> None:
        record = {"split": split, "step": step, "sequences": sequences, **values}
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for name, value in values.items():
                self.writer.add_scalar(f"{split}/{name}", value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def read_metrics(run_dir: Path | str) -> list[dict[str, Any]]:
    """Every record of the run's ``metrics.jsonl`` (none if it has no such file). A line that is
    not a JSON record with a split and a step (torn by a kill mid-write, or edited) is skipped
    with a warning that names the file and the line."""
    path = Path(run_dir) / METRICS_NAME
    if not path.is_file():
        return []
    records = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not (isinstance(record, dict) and "split" in record and "step" in record):
            warnings.warn(
                f"{path}:{number}: skipped a line that is not a metrics record: {line[:80]!r}",
                stacklevel=2,
            )
            continue
        records.append(record)
    return records


def best_evaluation(run_dir: Path | str) -> dict[str, Any] | None:
    """The held-out evaluation record (from ``metrics.jsonl``) of the parameters in the run's
    ``best.pt``, or None for a run that kept none (without ``train.select_best``)."""
    if not best_path(run_dir).is_file():
        return None
    step = load_checkpoint(run_dir, BEST_NAME)["step"]
    evals = [r for r in read_metrics(run_dir) if r["split"] == "eval" and r["step"] == step]
    return evals[-1] if evals else None


def load_run(run_dir: Path | str, best: bool = True) -> tuple[Config, Task, Model, dict[str, Any]]:
    """A trained run's config, task and model (in eval mode, on the CPU) and its checkpoint.

    With ``best`` and a ``best.pt`` in the run (``train.select_best``) the model holds the
    parameters that scored best on the validation set, and the payload's ``"model_step"`` says
    at which step; otherwise the last checkpoint's (``"model_step"``: its step). Runs saved
    before models had configs of their own load too (see :func:`~augrnn.train.config.
    upgrade_legacy`)."""
    payload, config = read_run_checkpoint(run_dir)
    task = task_class(config.task_name)(config.task)
    model = build_model(config.model, task.input_size, task.output_size)
    state, payload["model_step"] = payload["model"], payload["step"]
    source = Path(run_dir) / CHECKPOINT_NAME
    if best and best_path(run_dir).is_file():
        chosen = read_best(run_dir, config)
        state, payload["model_step"], source = chosen["model"], chosen["step"], best_path(run_dir)
    load_parameters(model, state, config, source)
    model.eval()
    return config, task, model, payload


def read_run_checkpoint(run_dir: Path | str) -> tuple[dict[str, Any], Config]:
    """The run's checkpoint and the config it holds, checked against ``RUN/config.json``: a
    :class:`CheckpointError` if the two describe different tasks or models (a checkpoint copied
    in from another run), rather than training or drawing the other run in this folder."""
    run_dir = Path(run_dir)
    payload = load_checkpoint(run_dir)
    try:
        config = config_from_dict(payload["config"])
    except (ConfigError, KeyError) as err:
        raise CheckpointError(
            f"the config saved in {run_dir / CHECKPOINT_NAME} is not valid here: {err}"
        ) from err
    config_file = run_dir / CONFIG_NAME
    if config_file.is_file():
        try:
            written = config_from_dict(json.loads(config_file.read_text()))
        except (json.JSONDecodeError, ConfigError, UnicodeDecodeError) as err:
            # The checkpoint holds the config; config.json is its copy for people to read.
            warnings.warn(
                f"{config_file} cannot be read as a run's config ({err}); the config saved in "
                f"{CHECKPOINT_NAME} is used",
                stacklevel=2,
            )
            written = config
        if written.identity() != config.identity():
            raise CheckpointError(
                f"{run_dir / CHECKPOINT_NAME} belongs to another run ({config.title()}) than "
                f"{config_file} ({written.title()}): was a checkpoint copied in from another run "
                "folder? Put it back with its own config.json and metrics.jsonl, or start a new "
                "run with `augrnn train`"
            )
    return payload, config


def read_best(run_dir: Path | str, config: Config) -> dict[str, Any]:
    """The run's ``best.pt``, checked to hold parameters of the run's task and model (runs saved
    before best.pt recorded them are taken as they are)."""
    chosen = load_checkpoint(run_dir, BEST_NAME)
    identity = chosen.get("identity")
    if identity is not None and identity != config.identity():
        raise CheckpointError(
            f"{best_path(run_dir)} holds parameters of another run than the checkpoint beside it "
            f"({config.title()}); remove it, or score the last checkpoint with --last"
        )
    return chosen


def load_parameters(model: nn.Module, state: dict[str, Any], config: Config, source: Path) -> None:
    """``model.load_state_dict(state)``, with a :class:`CheckpointError` that names the file and
    the first mismatched tensors when the parameters do not fit the model the config builds."""
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, TypeError) as err:
        detail = " ".join(str(err).split())
        raise CheckpointError(
            f"the parameters in {source} do not fit the model its config describes "
            f"({describe_model(config.model)} on {config.task_name}): {detail[:300]}"
        ) from err
