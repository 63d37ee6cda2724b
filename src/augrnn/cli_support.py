"""What the command line's commands share, those of model packages included (``predict``,
``ask``): errors a user can cause shown as one line instead of a stack trace."""

from __future__ import annotations

import functools

import click

from augrnn.registry import RegistryError
from augrnn.train.checkpoint import CheckpointError
from augrnn.train.config import ConfigError
from augrnn.train.distributed import DistributedError
from augrnn.train.loop import TrainingDiverged, TrainingOutOfMemory


def friendly_errors(fn):
    """Turn the errors a user can cause into one-line messages instead of stack traces."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (
            ConfigError,
            RegistryError,
            CheckpointError,
            DistributedError,
            FileExistsError,
            ValueError,
        ) as err:
            raise click.ClickException(str(err)) from err
        except TrainingDiverged as err:
            kept = f" {err.kept[0].upper()}{err.kept[1:]}." if err.kept else ""
            raise click.ClickException(
                f"training stopped: {err}.{kept} Try a lower --optim.lr, gradient clipping "
                "(--optim.clip_norm=50), clamping an NTM's state gradients (its "
                "clip_state_gradients=10), or skipping the steps whose gradients overflow "
                "(--train.skip_nonfinite=10)."
            ) from err
        except TrainingOutOfMemory as err:
            raise click.ClickException(str(err)) from err
        except PermissionError as err:
            where = err.filename or "a file"
            raise click.ClickException(
                f"cannot write {where}: permission denied (is the folder read-only? copy the run "
                "folder somewhere writable, or write elsewhere: `augrnn viz RUN --out DIR`)"
            ) from err
        except OSError as err:  # a full disk, a missing file: the machine's, not the code's
            where = f"{err.filename}: " if err.filename else ""
            raise click.ClickException(f"{where}{err.strerror or err}") from err

    return wrapper
