"""The core contract, ``unroll`` and the Trace.

A *core* is a recurrent module with

    state = core.initial_state(batch_size, device=None, dtype=None)
    output, state = core(x_t, state)        # one step: x_t is (B, input_size)

where ``state`` is an immutable NamedTuple (nested when a core holds another core) whose tensors
all have the batch as their first dimension, so a wrapper can weight or select a state per sample
(ACT's mean field). Modules keep no per-sequence tensors, so any core can be wrapped, unrolled or
traced the same way.

A core reports what it attended to by calling :func:`emit` inside ``forward``; the values land in
the active :class:`Trace`, if there is one, and cost nothing otherwise. Visualisations read
Traces only, never module internals.

A core that adds a cost of its own to the training loss (ACT's ponder cost) reports it per step
with :func:`add_step_term`; the values, still attached to the graph, land in the active
:class:`StepTerms` collector; :meth:`Core.sequence_loss` adds them to the task's loss.
"""

from __future__ import annotations

import contextvars
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import torch
from torch import Tensor, nn


class Core(nn.Module):
    """Base class of recurrent cores. Subclasses implement ``initial_state`` and ``forward``.

    ``compiles_own_step`` declares a core whose step has a data-dependent length (ACT's ponder
    loop): a sequence model then asks it to :meth:`compile_step` its inner step instead of
    compiling its whole step as one graph. ``checkpointable`` False declares a core whose steps
    cannot be recomputed in the backward pass (gradient checkpointing), ``checkpoint_refusal``
    says why; ``compilable`` False, one whose step ``torch.compile`` cannot trace;
    ``averageable_state`` False, one whose states cannot be averaged or mixed (ACT's mean-field
    state). A core may set any of them on the instance when it depends on its settings.
    """

    input_size: int
    output_size: int
    compiles_own_step: ClassVar[bool] = False
    checkpointable: bool = True
    checkpoint_refusal: str = "cannot recompute its steps in the backward pass"
    compilable: bool = True
    averageable_state: bool = True

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

    def compile_step(self, direct: bool = True, **compile_kwargs) -> None:
        """Compile the core's own inner step (declared by ``compiles_own_step``)."""
        raise NotImplementedError(f"{type(self).__name__} does not compile its own step")

    def sequence_loss(self, task, batch, logits: Tensor, terms: StepTerms) -> tuple[Tensor, Tensor]:
        """The training loss over a sequence and its task part (scalars, in nats), from the
        (T, B, output_size) ``logits`` of ``batch`` and the ``terms`` the core reported while
        computing them: ``task.loss`` plus each weighted step term, counted where
        ``batch.steps_mask()`` is 1. A core with a loss of its own (PonderNet) overrides it."""
        task_loss = task.loss(logits, batch)
        return task_loss + terms.weighted_total(batch.steps_mask()), task_loss


_INPUTS_CHECKED = contextvars.ContextVar("augrnn_inputs_checked", default=False)


@contextmanager
def inputs_checked() -> Iterator[None]:
    """Within: the steps given to cores come from a sequence already checked to be finite
    (:class:`~augrnn.sequence.RecurrentModel` checks it once), so cores skip that check."""
    token = _INPUTS_CHECKED.set(True)
    try:
        yield
    finally:
        _INPUTS_CHECKED.reset(token)


def check_step_input(x: Tensor, input_size: int, who: str) -> None:
    """Raise ``ValueError`` unless ``x`` is a finite (B, input_size) floating-point tensor with
    at least one episode (finiteness is left to the caller under :func:`inputs_checked` and in
    compiled code)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{who} expects a torch.Tensor input, got {type(x).__name__}")
    if x.dim() != 2 or x.shape[1] != input_size or x.shape[0] == 0:
        raise ValueError(
            f"{who} expects one step of shape (batch >= 1, {input_size}), got {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise ValueError(f"{who} expects a floating-point input, got {x.dtype}")
    if torch.compiler.is_compiling() or _INPUTS_CHECKED.get() or x.device.type == "meta":
        return
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{who} got an input containing NaN or Inf")


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


@contextmanager
def untraced() -> Iterator[None]:
    """Send nothing to the active Trace inside the ``with`` block (a nested core whose steps
    are not the traced ones)."""
    token = _active_trace.set(None)
    try:
        yield
    finally:
        _active_trace.reset(token)


def emit(name: str, value: Tensor) -> None:
    """Record ``value`` under ``name`` in the active Trace; does nothing when none is active.

    Compiled steps never trace (``RecurrentModel`` runs traced sequences eagerly), so inside
    ``torch.compile`` this is a no-op that keeps the step one graph."""
    if torch.compiler.is_compiling():
        return
    trace = _active_trace.get()
    if trace is not None:
        trace.record(name, value)


def is_tracing() -> bool:
    if torch.compiler.is_compiling():
        return False
    return _active_trace.get() is not None


class StepTerms:
    """Per-step, per-sample quantities reported by cores, kept differentiable.

    ``values[name]`` is a list with one (B,) tensor per time step; ``weights[name]`` is the
    weight of that term in the training loss (0 for a statistic that is only logged).
    ``extras[name]`` holds other per-step tensors a core needs for its own loss.
    """

    def __init__(self) -> None:
        self.values: dict[str, list[Tensor]] = {}
        self.weights: dict[str, float] = {}
        self.extras: dict[str, list[Tensor]] = {}

    def stacked(self, name: str) -> Tensor:
        """Term ``name`` over all steps as a (T, B) tensor."""
        return torch.stack(self.values[name])

    def weighted_total(self, steps_mask: Tensor) -> Tensor:
        """Σ_name weight · Σ_t term_t, counting only steps where ``steps_mask`` (T, B) is 1,
        averaged over the batch: a scalar to add to the loss."""
        total = steps_mask.new_zeros(())
        for name, weight in self.weights.items():
            if weight:
                total = total + weight * (self.stacked(name) * steps_mask).sum(0).mean()
        return total

    def means(self, steps_mask: Tensor) -> dict[str, float]:
        """Each term's mean per counted step (e.g. the mean ponder time per input step)."""
        count = steps_mask.sum().clamp_min(1)
        return {
            name: float((self.stacked(name).detach() * steps_mask).sum() / count)
            for name in self.values
        }


_active_terms: contextvars.ContextVar[StepTerms | None] = contextvars.ContextVar(
    "augrnn_step_terms", default=None
)


@contextmanager
def collecting_step_terms() -> Iterator[StepTerms]:
    """Collect what cores report with :func:`add_step_term` inside the ``with`` block."""
    terms = StepTerms()
    token = _active_terms.set(terms)
    try:
        yield terms
    finally:
        _active_terms.reset(token)


def add_step_term(name: str, value: Tensor, weight: float = 0.0) -> None:
    """Report ``value`` (B,) for this step under ``name``, entering the loss with ``weight``."""
    terms = _active_terms.get()
    if terms is not None:
        terms.values.setdefault(name, []).append(value)
        terms.weights[name] = weight


def add_step_extra(name: str, value: Tensor) -> None:
    """Report a tensor for this step that a core's own sequence loss will read."""
    terms = _active_terms.get()
    if terms is not None:
        terms.extras.setdefault(name, []).append(value)


def is_collecting_step_terms() -> bool:
    return _active_terms.get() is not None


def tree_map(fn, *trees):
    """Apply ``fn`` to matching tensor leaves of nested (Named)tuples such as core states."""
    first = trees[0]
    if isinstance(first, Tensor):
        return fn(*trees)
    if isinstance(first, tuple):
        children = [tree_map(fn, *parts) for parts in zip(*trees, strict=True)]
        return type(first)(*children) if hasattr(first, "_fields") else type(first)(children)
    if first is None:
        return None
    raise TypeError(f"core states must be nested tuples of tensors, found {type(first).__name__}")


class _ClampedGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, tensor: Tensor, bound: float) -> Tensor:
        ctx.bound = bound
        return tensor.view_as(tensor)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        return grad.clamp(-ctx.bound, ctx.bound), None


def clamp_gradient(tensor: Tensor, bound: float) -> Tensor:
    """``tensor`` unchanged, its gradient clamped elementwise to [−bound, bound] on the way back.

    Applied to a recurrent state at every step, this is the clipping of derivatives inside
    backpropagation through time that Graves (2013, "Generating sequences with recurrent neural
    networks") applies to LSTMs: a gradient can then grow by at most one step's factor beyond
    ``bound`` before the next clamp, however long the sequence, where a global-norm clip acts
    only after the whole backward pass, too late if that has already overflowed.
    """
    return _ClampedGradient.apply(tensor, bound)


def default_inductor_options(module: nn.Module) -> dict[str, Any]:
    """Inductor's options for compiling a step of ``module``, by the device of its parameters.
    On the CPU, a C++ wrapper around the generated kernels instead of a Python one: a recurrent
    step is many small calls, so the per-call overhead is a large part of its time. On CUDA the
    Python wrapper: the C++ one failed to compile these steps' backward graphs there (torch 2.11,
    "CudaKernelParamCache not populated"). Compile after moving the module to its device."""
    return {"cpp_wrapper": True} if device_type(module) == "cpu" else {}


def device_type(module: nn.Module) -> str:
    """The device type ("cpu", "cuda") of ``module``'s parameters; "cpu" if it has none."""
    parameter = next(module.parameters(), None)
    return "cpu" if parameter is None else parameter.device.type


def check_compiled_device(model: nn.Module, compiled_for: str, x: Tensor) -> None:
    """A clear error where a step compiled on one device is called with inputs on another
    (its kernels, and on the CPU their C++ wrapper, were generated for the first)."""
    if x.device.type != compiled_for:
        raise RuntimeError(
            f"{type(model).__name__}'s step was compiled for {compiled_for} but is called on "
            f"{x.device.type}: call compile_step() again after moving the model there"
        )


def copy_function(fn):
    """A private copy of the function, bound method or module ``fn`` (for a module: its
    ``forward``, without hooks), with a code object of its own.

    torch.compile keeps compiled variants (and its limit on recompiling) per code object, which
    every instance of a class shares; a copy gives each model its own, so models of different
    sizes in one process do not use up each other's variants.
    """
    if isinstance(fn, nn.Module):
        fn = fn.forward
    bound_to = getattr(fn, "__self__", None)
    func = getattr(fn, "__func__", fn)
    copy = types.FunctionType(
        func.__code__.replace(),
        func.__globals__,
        func.__name__,
        func.__defaults__,
        func.__closure__,
    )
    copy.__kwdefaults__ = func.__kwdefaults__
    copy.__qualname__ = func.__qualname__
    return copy if bound_to is None else types.MethodType(copy, bound_to)


def compile_fresh(fn, module: nn.Module, **compile_kwargs):
    """``torch.compile`` a private copy (:func:`copy_function`) of the function, bound method or
    module ``fn``, a step of ``module``. With the default inductor backend, ``options`` defaults
    to :func:`default_inductor_options` for ``module``.
    """
    if compile_kwargs.get("backend", "inductor") == "inductor":
        compile_kwargs.setdefault("options", default_inductor_options(module))
    return torch.compile(copy_function(fn), **compile_kwargs)


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
