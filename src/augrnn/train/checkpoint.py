"""Checkpoints: written atomically, read with clear errors.

A checkpoint holds everything needed to resume exactly: model and optimiser state, the training
data generator's and torch's RNG states, the step and sequence counters, the elapsed time and the
config. It is written to a temporary file in the same folder and renamed over the old one, so a
crash mid-write leaves the previous checkpoint intact (and an orphan temporary file, which
:func:`remove_orphans` deletes when the run is next trained).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import torch

CHECKPOINT_NAME = "checkpoint.pt"
#: The parameters that scored best on the validation set (``train.select_best``).
BEST_NAME = "best.pt"
FORMAT_VERSION = 1
TMP_PREFIX, TMP_SUFFIX = ".checkpoint-", ".tmp"


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, unreadable or not one of ours."""


def checkpoint_path(run_dir: Path | str) -> Path:
    return Path(run_dir) / CHECKPOINT_NAME


def best_path(run_dir: Path | str) -> Path:
    return Path(run_dir) / BEST_NAME


def save_checkpoint(
    run_dir: Path | str, payload: dict[str, Any], name: str = CHECKPOINT_NAME
) -> Path:
    """Write ``payload`` (plus a format version) to ``run_dir/name`` atomically."""
    path = Path(run_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda f: torch.save({"format_version": FORMAT_VERSION, **payload}, f))
    return path


def write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write`` on a temporary file beside ``path``, flush it to disk and rename it over
    ``path``: a crash at any moment leaves the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_orphans(run_dir: Path | str) -> list[Path]:
    """Delete the temporary files that writes killed mid-way left in ``run_dir``; returns them.
    Only the process training a run writes to it, so any such file is an orphan."""
    orphans = sorted(Path(run_dir).glob(f"{TMP_PREFIX}*{TMP_SUFFIX}"))
    for orphan in orphans:
        orphan.unlink(missing_ok=True)
    return orphans


def load_checkpoint(run_dir: Path | str, name: str = CHECKPOINT_NAME) -> dict[str, Any]:
    """Read a run's checkpoint (or ``name``, e.g. :data:`BEST_NAME`); a clear
    :class:`CheckpointError` if it is missing or corrupt."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(f"no run folder at {run_dir}")
    path = Path(run_dir) / name
    if not path.is_file():
        raise CheckpointError(
            f"no checkpoint in {run_dir} (expected {path.name}); was the run started with "
            "`augrnn train` and did it reach its first evaluation?"
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(
            f"the checkpoint {path} cannot be read (truncated or corrupted?): {err}"
        ) from err
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} is not an augrnn checkpoint (format {FORMAT_VERSION})")
    return payload
