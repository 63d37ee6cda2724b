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

from augrnn.interface import Model
from augrnn.registry import build_model, task_class
from augrnn.tasks.base import Task
from augrnn.train.checkpoint import BEST_NAME, best_path, load_checkpoint
from augrnn.train.config import Config, config_from_dict

METRICS_NAME = "metrics.jsonl"
CONFIG_NAME = "config.json"


def write_config(run_dir: Path, config: Config) -> None:
    (run_dir / CONFIG_NAME).write_text(json.dumps(config.to_dict(), indent=2))


class MetricsLog:
    """Appends one JSON object per line to ``metrics.jsonl`` and mirrors scalars to TensorBoard."""

    def __init__(self, run_dir: Path, tensorboard: bool):
        self.path = run_dir / METRICS_NAME
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
                self.writer = SummaryWriter(str(run_dir / "tensorboard"))

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
    """Every record of the run's ``metrics.jsonl`` (none if it has no such file)."""
    path = Path(run_dir) / METRICS_NAME
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


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
    payload = load_checkpoint(run_dir)
    config = config_from_dict(payload["config"])
    task = task_class(config.task_name)(config.task)
    model = build_model(config.model, task.input_size, task.output_size)
    state, payload["model_step"] = payload["model"], payload["step"]
    if best and best_path(run_dir).is_file():
        chosen = load_checkpoint(run_dir, BEST_NAME)
        state, payload["model_step"] = chosen["model"], chosen["step"]
    model.load_state_dict(state)
    model.eval()
    return config, task, model, payload
