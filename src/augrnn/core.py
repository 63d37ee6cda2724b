"""The core contract, ``unroll`` and the Trace.

A *core* is a recurrent module with

    state = core.initial_state(batch_size, device=None, dtype=None)
    output, state = core(x_t, state)        # one step: x_t is (B, input_size)

where ``state`` is an immutable NamedTuple (nested when a core holds another core). Modules keep no
per-sequence tensors, so any core can be wrapped, unrolled or traced the same way.

A core reports what it attended to by calling :func:`emit` inside ``forward``; the values land in
the active :class:`Trace`, if there is one, and cost nothing otherwise. Visualisations read
Traces only, never module internals.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn


class Core(nn.Module):
    """Base class of recurrent cores. Subclasses implement ``initial_state`` and ``forward``."""

    input_size: int
    output_size: int

    def initial_state(
        self,
        batch_size: int,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> Any:
        raise NotImplementedError

    def forward(self, x: Tensor, state: Any) -> tuple[Tensor, Any]:
        raise NotImplementedError

    def check_input(self, x: Tensor) -> None:
        """Raise a clear error unless ``x`` is a finite (B, input_size) floating-point tensor."""
        check_step_input(x, self.input_size, type(self).__name__)


def check_step_input(x: Tensor, input_size: int, who: str) -> None:
    """Raise ``ValueError`` unless ``x`` is a finite (B, input_size) floating-point tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{who} expects a torch.Tensor input, got {type(x).__name__}")
    if x.dim() != 2 or x.shape[1] != input_size:
        raise ValueError(
            f"{who} expects one step of shape (batch, {input_size}), got {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise ValueError(f"{who} expects a floating-point input, got {x.dtype}")


class Trace:
    """What cores attended to, step by step.

    ``steps[t]`` maps a name (e.g. ``"write_weights"``) to the detached tensor emitted at step t.
    :meth:`stack` returns one name over all steps as a (T, ...) tensor.
    """

    def __init__(self) -> None:
        self.steps: list[dict[str, Tensor]] = [{}]

    def record(self, name: str, value: Tensor) -> None:
        self.steps[-1][name] = value.detach().cpu().clone()

    def next_step(self) -> None:
        self.steps.append({})

    def finish(self) -> None:
        """Drop a trailing empty step left by :meth:`next_step`."""
        if len(self.steps) > 1 and not self.steps[-1]:
            self.steps.pop()

    @property
    def names(self) -> list[str]:
        seen: dict[str, None] = {}
        for step in self.steps:
            seen.update(dict.fromkeys(step))
        return list(seen)

    def __len__(self) -> int:
        return len(self.steps) if self.steps[0] else 0

    def stack(self, name: str) -> Tensor:
        values = [step[name] for step in self.steps if name in step]
        if not values:
            raise KeyError(f"nothing named {name!r} was traced; traced names: {self.names}")
        return torch.stack(values)


_active_trace: contextvars.ContextVar[Trace | None] = contextvars.ContextVar(
    "augrnn_trace", default=None
)


@contextmanager
def tracing(trace: Trace) -> Iterator[Trace]:
    """Make ``trace`` the destination of :func:`emit` inside the ``with`` block."""
    token = _active_trace.set(trace)
    try:
        yield trace
    finally:
        _active_trace.reset(token)


def emit(name: str, value: Tensor) -> None:
    """Record ``value`` under ``name`` in the active Trace; does nothing when none is active."""
    trace = _active_trace.get()
    if trace is not None:
        trace.record(name, value)


def is_tracing() -> bool:
    return _active_trace.get() is not None


def unroll(
    core: nn.Module,
    inputs: Tensor,
    state: Any = None,
    *,
    batch_first: bool = False,
    trace: Trace | None = None,
) -> tuple[Tensor, Any]:
    """Run ``core`` over a sequence.

    inputs: (T, B, input_size), or (B, T, input_size) with ``batch_first``.
    state:  the state before the first step; ``core.initial_state(B)`` on the inputs' device and
            dtype when None.
    trace:  when given, receives what the core emits at each step (one entry per time step).
    Returns the outputs, (T, B, output_size) (or batch-first), and the state after the last step.
    """
    if inputs.dim() != 3:
        layout = "(batch, time, features)" if batch_first else "(time, batch, features)"
        raise ValueError(f"unroll expects a 3-D input {layout}, got shape {tuple(inputs.shape)}")
    steps = inputs.transpose(0, 1) if batch_first else inputs
    if state is None:
        state = core.initial_state(steps.shape[1], device=steps.device, dtype=steps.dtype)
    outputs = []
    if trace is None:
        for x_t in steps:
            y_t, state = core(x_t, state)
            outputs.append(y_t)
    else:
        with tracing(trace):
            for x_t in steps:
                y_t, state = core(x_t, state)
                outputs.append(y_t)
                trace.next_step()
        trace.finish()
    out = torch.stack(outputs)
    return (out.transpose(0, 1) if batch_first else out), state
