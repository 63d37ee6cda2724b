"""Any recurrent core as a sequence model: :class:`RecurrentModel`, with an ``nn.LSTM``-like API.

It is the :class:`~augrnn.interface.Model` of every kind that is a core (an LSTM stack, an NTM,
ACT around either): it unrolls the core over (T, B, input_size) inputs, computes the task's loss
plus the step terms the core reports (ACT's ponder cost), and offers a compiled step and
gradient checkpointing, which leave the results unchanged.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.utils._pytree import tree_flatten, tree_unflatten
from torch.utils.checkpoint import checkpoint

from augrnn.compiled_step import with_direct_calls
from augrnn.core import (
    Core,
    Trace,
    check_compiled_device,
    collecting_step_terms,
    compile_fresh,
    device_type,
    inputs_checked,
    tree_map,
    unroll,
)
from augrnn.interface import Model


class RecurrentModel(Model):
    """A sequence module around any core, with an ``nn.LSTM``-like interface.

    ``output, state = model(inputs, state=None)`` with inputs (T, B, input_size), or
    (B, T, input_size) when ``batch_first``. Inputs are checked for width, dtype, device and
    NaN before any computation, so a mistake reads as a sentence rather than a stack trace.

    Two options trade memory and compile time for speed, and leave the results unchanged:
    :meth:`compile_step` runs untraced sequences through a compiled step, and
    ``checkpoint_every`` = K keeps only every K-th state for the backward pass and recomputes
    the steps between (gradient checkpointing), so a T-step sequence stores about T/K states
    plus one K-step segment's activations instead of all T steps'.

    As a :class:`~augrnn.interface.Model` it reads a :class:`~augrnn.tasks.base.Batch`'s
    ``inputs`` and gives (T, B, output_size) logits.
    """

    def __init__(self, core: Core, batch_first: bool = False, checkpoint_every: int | None = None):
        super().__init__()
        self.core = core
        self.batch_first = batch_first
        self.input_size = core.input_size
        self.output_size = core.output_size
        self.checkpoint_every = checkpoint_every
        self._compiled_step: Any = None
        self._compiled_chunk: Any = None
        self.chunk_steps = 1

    @property
    def checkpoint_every(self) -> int | None:
        return self._checkpoint_every

    @checkpoint_every.setter
    def checkpoint_every(self, steps: int | None) -> None:
        if steps is not None and (not isinstance(steps, int) or steps < 1):
            raise ValueError(
                f"checkpoint_every must be a positive number of steps or None, got {steps!r}"
            )
        if steps is not None and not self.core.checkpointable:
            raise ValueError(f"{type(self.core).__name__} {self.core.checkpoint_refusal}")
        self._checkpoint_every = steps

    @property
    def supports_compile(self) -> bool:  # type: ignore[override]
        """Whether ``torch.compile`` can trace the core's step."""
        return self.core.compilable

    @property
    def supports_checkpointing(self) -> bool:  # type: ignore[override]
        """Whether the core's steps can be recomputed in the backward pass."""
        return self.core.checkpointable

    def compile_step(self, chunk_steps: int = 1, direct: bool = True, **compile_kwargs) -> None:
        """Run untraced sequences through ``torch.compile``: the core's step as one graph
        (``fullgraph=True``), reused for every sequence length, and with ``chunk_steps`` = C > 1
        also C steps unrolled into one graph, so a T-step sequence makes T // C calls of that
        and T mod C single steps. Longer chunks cut the per-call overhead (large at batch 1) but
        compile for longer. A core that declares ``compiles_own_step`` (ACT, whose number of ponder
        steps depends on the data) is asked to compile itself instead. The compiled functions
        are kept outside the module's children, so ``state_dict`` and checkpoints are the same
        as for the eager model.

        With ``direct`` (the default) and inductor (the default backend, no ``mode``), training
        steps call the compiled forward and backward kernels directly instead of through
        torch.compile's per-call wrappers (:class:`augrnn.compiled_step.DirectStep`); the
        results are the same.
        """
        if not isinstance(chunk_steps, int) or chunk_steps < 1:
            raise ValueError(f"chunk_steps must be a positive integer, got {chunk_steps!r}")
        if not self.core.compilable:
            raise ValueError(f"{type(self.core).__name__} with these settings cannot be compiled")
        if self.core.compiles_own_step:
            # A core whose step has data-dependent length (ACT) compiles its own inner step.
            if chunk_steps > 1:
                raise ValueError(
                    f"{type(self.core).__name__} compiles its own step; chunk_steps must be 1"
                )
            self.core.compile_step(direct=direct, **compile_kwargs)
            return
        compile_kwargs.setdefault("fullgraph", True)
        self.chunk_steps = chunk_steps
        step = with_direct_calls(
            self.core.forward,
            self.core,
            compile_fresh(self.core, self.core, **compile_kwargs),
            compile_kwargs,
            direct,
        )
        chunk = None
        if chunk_steps > 1:
            run_steps = _run_steps_of(self.core)
            compiled_chunk = compile_fresh(run_steps, self.core, **compile_kwargs)
            chunk = with_direct_calls(run_steps, self.core, compiled_chunk, compile_kwargs, direct)
        # Set past nn.Module.__setattr__: a compiled module must not become a child.
        object.__setattr__(self, "_compiled_step", step)
        object.__setattr__(self, "_compiled_chunk", chunk)
        object.__setattr__(self, "_compiled_device", device_type(self.core))

    @property
    def is_compiled(self) -> bool:
        return self._compiled_step is not None

    def initial_state(self, batch_size, device=None, dtype=None):
        return self.core.initial_state(batch_size, device, dtype)

    def forward(
        self, inputs: Tensor, state: Any = None, trace: Trace | None = None
    ) -> tuple[Tensor, Any]:
        if self.is_compiled and trace is None:
            check_compiled_device(self, self._compiled_device, inputs)
        self.check_inputs(inputs)
        with inputs_checked():  # the whole sequence is finite: the steps need no check of their own
            return self._forward(inputs, state, trace)

    def _forward(self, inputs: Tensor, state: Any, trace: Trace | None) -> tuple[Tensor, Any]:
        if trace is not None or (not self.is_compiled and self.checkpoint_every is None):
            return unroll(self.core, inputs, state, batch_first=self.batch_first, trace=trace)
        steps = inputs.transpose(0, 1) if self.batch_first else inputs
        if state is None:
            state = self.core.initial_state(steps.shape[1], device=steps.device, dtype=steps.dtype)
            # Dense copies of the broadcast initial state: the compiled step then sees the same
            # strides at every step and compiles one variant.
            state = tree_map(torch.Tensor.contiguous, state)
        segment = self.checkpoint_every or steps.shape[0]
        outputs = []
        for start in range(0, steps.shape[0], segment):
            xs = steps[start : start + segment]
            if self.checkpoint_every is not None and torch.is_grad_enabled():
                ys, state = self._checkpointed_segment(xs, state)
            else:
                ys, state = self._run_segment(xs, state)
            outputs.append(ys)
        out = torch.cat(outputs)
        return (out.transpose(0, 1) if self.batch_first else out), state

    def _checkpointed_segment(self, xs: Tensor, state: Any) -> tuple[Tensor, Any]:
        """``_run_segment`` that keeps only its inputs for the backward pass and reruns itself
        there. The segment's forward runs without building a graph (torch's reentrant
        checkpoint), so a T-step sequence holds T/K graph nodes rather than one per operation of
        every step, which would otherwise grow with T (a few hundred bytes each)."""
        flat_state, spec = tree_flatten(state)
        if not any(t.requires_grad for t in (xs, *flat_state)):
            # Reentrant checkpointing passes gradients only through its tensor arguments; with
            # none needing one it would drop the parameters' gradients too.
            return checkpoint(self._run_segment, xs, state, use_reentrant=False)
        out_spec = None

        def run(xs: Tensor, *flat: Tensor) -> tuple[Tensor, ...]:
            nonlocal out_spec
            # The forward pass runs the step without gradients, whose compiled graph may lay
            # its outputs out otherwise than the training graph does; dense copies let the
            # recomputation call the training graph's compiled variant instead of another.
            flat = [t.contiguous() for t in flat]
            ys, new_state = self._run_segment(xs, tree_unflatten(flat, spec))
            new_flat, out_spec = tree_flatten(new_state)
            return (ys, *new_flat)

        ys, *new_flat = checkpoint(run, xs, *flat_state, use_reentrant=True)
        return ys, tree_unflatten(new_flat, out_spec)

    def _run_segment(self, xs: Tensor, state: Any) -> tuple[Tensor, Any]:
        """xs (K, B, input_size) through the (compiled, where available) step; (K, B, output)."""
        step = self.core if self._compiled_step is None else self._compiled_step
        outputs = []
        t = 0
        if self._compiled_chunk is not None:
            while t + self.chunk_steps <= xs.shape[0]:
                ys, state = self._compiled_chunk(xs[t : t + self.chunk_steps], state)
                outputs.append(ys)
                t += self.chunk_steps
        for x_t in xs[t:]:
            y_t, state = step(x_t, state)
            outputs.append(y_t.unsqueeze(0))
        return torch.cat(outputs), state

    def set_checkpointing(self, every: int | None) -> None:
        self.checkpoint_every = every

    def loss(self, task, batch) -> tuple[Tensor, Tensor]:
        """The training loss on ``batch`` and its task part (scalars, in nats): the core's
        :meth:`~augrnn.core.Core.sequence_loss` of the outputs and the step terms it reported
        (the task's loss, plus ACT's ponder cost counted on the episode's own steps)."""
        with collecting_step_terms() as terms:
            logits, _ = self(batch.inputs)
        return self.core.sequence_loss(task, batch, logits, terms)

    def evaluation_outputs(self, batch) -> Tensor:
        """(T, B, output_size) logits of ``batch.inputs``."""
        return self(batch.inputs)[0]

    def traced(self, batch) -> tuple[Tensor, Trace]:
        trace = Trace()
        logits, _ = self(batch.inputs, trace=trace)
        return logits, trace

    def check_inputs(self, inputs: Tensor) -> None:
        name = type(self).__name__
        layout = "(batch, time, input_size)" if self.batch_first else "(time, batch, input_size)"
        if not isinstance(inputs, Tensor):
            raise TypeError(f"{name} expects a torch.Tensor, got {type(inputs).__name__}")
        if inputs.dim() != 3 or inputs.shape[-1] != self.input_size:
            raise ValueError(
                f"{name} expects inputs of shape {layout} with input_size {self.input_size}, "
                f"got {tuple(inputs.shape)}"
            )
        if 0 in inputs.shape[:2]:
            raise ValueError(
                f"{name} needs at least one sequence and one step, got inputs of shape "
                f"{tuple(inputs.shape)} {layout}"
            )
        param = next(self.parameters())
        if inputs.dtype != param.dtype:
            raise ValueError(
                f"{name} has {param.dtype} parameters but got {inputs.dtype} inputs; "
                f"convert with inputs.to({param.dtype})"
            )
        if inputs.device != param.device:
            raise ValueError(
                f"{name} is on {param.device} but the inputs are on {inputs.device}; "
                f"move them with inputs.to('{param.device}')"
            )
        if not torch.isfinite(inputs).all():
            raise ValueError(f"{name} got inputs containing NaN or Inf")


def _run_steps_of(core: Core):
    """A function that runs ``core`` over every step of xs (K, B, input_size); the function
    that ``compile_step`` unrolls K steps of into one graph."""

    def run_steps(xs: Tensor, state: Any) -> tuple[Tensor, Any]:
        outputs = []
        for x_t in xs:
            y_t, state = core(x_t, state)
            outputs.append(y_t)
        return torch.stack(outputs), state

    return run_steps
