"""What the command line's commands share, those of model packages included (``predict``,
``ask``): errors a user can cause shown as one line instead of a stack trace."""

from __future__ import annotations

import functools

import click

from augrnn.registry import RegistryError
from augrnn.train.checkpoint import CheckpointError
from augrnn.train.config import ConfigError
from augrnn.train.loop import TrainingDiverged


def friendly_errors(fn):
    """Turn the errors a user can cause into one-line messages instead of stack traces."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ConfigError, RegistryError, CheckpointError, FileExistsError, ValueError) as err:
            raise click.ClickException(str(err)) from err
        except TrainingDiverged as err:
            raise click.ClickException(
                f"training stopped: {err}. The last good checkpoint is kept; try a lower "
                "--optim.lr, gradient clipping (--optim.clip_norm=50), clamping an NTM's "
                "state gradients (its clip_state_gradients=10), or skipping the steps "
                "whose gradients overflow (--train.skip_nonfinite=10)."
            ) from err

    return wrapper
