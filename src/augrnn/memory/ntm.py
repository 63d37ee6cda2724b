"""The Neural Turing Machine (Graves, Wayne & Danihelka 2014) as a core and as a sequence module.

One step, in the order the DNC later made standard: the controller reads the input with the
previous read vectors; its output parameterises every head; the write heads address and write
M_{t−1} → M_t; the read heads address and read M_t; the output is a linear map of the
controller output and the new read vectors.

Head activations follow Collier & Beel (2018): key k and add vector a: tanh; strength β: softplus;
gate g: sigmoid; shift s: softmax; sharpening γ: 1 + softplus; erase e: sigmoid.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils._pytree import tree_flatten, tree_unflatten
from torch.utils.checkpoint import checkpoint

from augrnn import addressing
from augrnn.compiled_step import with_direct_calls
from augrnn.controllers import build_controller
from augrnn.core import (
    Core,
    Trace,
    check_compiled_device,
    clamp_gradient,
    collecting_step_terms,
    compile_fresh,
    device_type,
    emit,
    is_tracing,
    tree_map,
    unroll,
)

MEMORY_INITS = ("constant", "learned", "random")
#: Collier & Beel (2018): a small constant memory converged fastest and most stably.
CONSTANT_MEMORY_VALUE = 1e-6
#: Spread of the per-episode memory under ``memory_init="random"``.
RANDOM_MEMORY_STD = 0.1
#: Initial logit of slot 0 in the learned initial head weights, so heads start focused there.
INITIAL_FOCUS_LOGIT = 10.0


class NTMState(NamedTuple):
    """State between steps.

    controller:    the controller's own state.
    memory:        (B, N, M) memory M_t.
    read_weights:  (B, R, N) read weights w^r_t of the R read heads.
    write_weights: (B, W, N) write weights w^w_t of the W write heads.
    reads:         (B, R, M) read vectors r_t.
    """

    controller: Any
    memory: Tensor
    read_weights: Tensor
    write_weights: Tensor
    reads: Tensor


class NTMCell(Core):
    """One NTM step as a core: ``output, state = cell(x_t, state)``; output is (B, output_size)
    logits.

    Args:
        input_size, output_size: widths of x_t and of the output.
        controller: "lstm" or "feedforward".
        controller_size, controller_layers: the controller's width and depth.
        memory_slots, memory_width: N and M.
        read_heads, write_heads: R and W.
        shift_width: S, the odd number of allowed shifts (3 allows −1, 0, +1).
        memory_init: "constant" (1e-6), "learned" (a parameter) or "random" (fresh per episode).
        similarity: "cosine" (the paper's) or "dot".
        clip_controller_outputs: clip the head parameters before their activations to ±this value
            (Collier & Beel use 20); None leaves them unclipped.
        clip_state_gradients: clamp the gradient reaching each step's incoming state (controller
            state, memory, weights, reads) to ±this value elementwise in the backward pass
            (:func:`augrnn.core.clamp_gradient`), so that it cannot grow from step to step until
            it overflows; None (the default) leaves backpropagation exact.
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        *,
        controller: str = "lstm",
        controller_size: int = 100,
        controller_layers: int = 1,
        memory_slots: int = 128,
        memory_width: int = 20,
        read_heads: int = 1,
        write_heads: int = 1,
        shift_width: int = 3,
        memory_init: str = "constant",
        similarity: str = "cosine",
        clip_controller_outputs: float | None = 20.0,
        clip_state_gradients: float | None = None,
    ):
        super().__init__()
        for name, value in {
            "input_size": input_size,
            "output_size": output_size,
            "memory_slots": memory_slots,
            "memory_width": memory_width,
            "read_heads": read_heads,
            "write_heads": write_heads,
        }.items():
            if value < 1:
                raise ValueError(f"NTMCell needs {name} >= 1, got {value}")
        addressing.shift_offsets(shift_width)  # validates
        if memory_init not in MEMORY_INITS:
            raise ValueError(f"memory_init must be one of {MEMORY_INITS}, got {memory_init!r}")
        if similarity not in addressing.SIMILARITIES:
            raise ValueError(
                f"similarity must be one of {addressing.SIMILARITIES}, got {similarity!r}"
            )
        if clip_controller_outputs is not None and clip_controller_outputs <= 0:
            raise ValueError(
                f"clip_controller_outputs must be positive or None, got {clip_controller_outputs}"
            )
        if clip_state_gradients is not None and not clip_state_gradients > 0:
            raise ValueError(
                f"clip_state_gradients must be positive or None, got {clip_state_gradients}"
            )
        self.input_size = input_size
        self.output_size = output_size
        self.memory_slots = memory_slots
        self.memory_width = memory_width
        self.read_heads = read_heads
        self.write_heads = write_heads
        self.shift_width = shift_width
        self.memory_init = memory_init
        self.similarity = similarity
        self.clip_controller_outputs = clip_controller_outputs
        self.clip_state_gradients = clip_state_gradients

        self.controller = build_controller(
            controller, input_size + read_heads * memory_width, controller_size, controller_layers
        )
        hidden = self.controller.output_size
        # Per head: key (M), β, g, shift (S), γ; write heads add erase (M) and add (M).
        self._address_size = memory_width + shift_width + 3
        self._write_param_size = write_heads * (self._address_size + 2 * memory_width)
        # Every head's parameters come from one linear map (one matmul per step), the write
        # heads' first; initialised as two maps of their own sizes would be.
        read_init = nn.Linear(hidden, read_heads * self._address_size)
        write_init = nn.Linear(hidden, self._write_param_size)
        self.head_params = nn.utils.skip_init(
            nn.Linear, hidden, self._write_param_size + read_heads * self._address_size
        )
        with torch.no_grad():
            self.head_params.weight.copy_(torch.cat([write_init.weight, read_init.weight]))
            self.head_params.bias.copy_(torch.cat([write_init.bias, read_init.bias]))
        self.readout = nn.Linear(hidden + read_heads * memory_width, output_size)

        def initial_logits(heads: int) -> Tensor:
            logits = torch.zeros(heads, memory_slots)
            logits[:, 0] = INITIAL_FOCUS_LOGIT
            return logits

        self.initial_read_logits = nn.Parameter(initial_logits(read_heads))
        self.initial_write_logits = nn.Parameter(initial_logits(write_heads))
        self.initial_reads = nn.Parameter(torch.zeros(read_heads, memory_width))
        if memory_init == "learned":
            self.initial_memory = nn.Parameter(
                torch.empty(memory_slots, memory_width).uniform_(-0.1, 0.1)
            )
        else:
            self.register_buffer(
                "initial_memory",
                torch.full((memory_slots, memory_width), CONSTANT_MEMORY_VALUE),
                persistent=False,
            )

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Checkpoints from before the heads shared one linear map hold two.
        for kind in ("weight", "bias"):
            write = state_dict.pop(f"{prefix}write_params.{kind}", None)
            read = state_dict.pop(f"{prefix}read_params.{kind}", None)
            if write is not None and read is not None:
                state_dict[f"{prefix}head_params.{kind}"] = torch.cat([write, read])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def initial_state(self, batch_size, device=None, dtype=None) -> NTMState:
        device = self.initial_reads.device if device is None else device
        dtype = self.initial_reads.dtype if dtype is None else dtype

        def batched(t: Tensor) -> Tensor:
            return t.to(device=device, dtype=dtype).unsqueeze(0).expand(batch_size, *t.shape)

        memory = batched(self.initial_memory)
        if self.memory_init == "random":
            memory = memory + RANDOM_MEMORY_STD * torch.randn(
                batch_size, self.memory_slots, self.memory_width, device=device, dtype=dtype
            )
        return NTMState(
            controller=self.controller.initial_state(batch_size, device, dtype),
            memory=memory,
            read_weights=batched(torch.softmax(self.initial_read_logits, -1)),
            write_weights=batched(torch.softmax(self.initial_write_logits, -1)),
            reads=batched(self.initial_reads),
        )

    def _head_parameters(self, raw: Tensor, heads: int) -> dict[str, Tensor]:
        """Split (B, heads·P) controller outputs into activated head parameters."""
        if self.clip_controller_outputs is not None:
            raw = raw.clamp(-self.clip_controller_outputs, self.clip_controller_outputs)
        raw = raw.view(raw.shape[0], heads, -1)
        m, s = self.memory_width, self.shift_width
        params = {
            "keys": torch.tanh(raw[..., :m]),
            "strengths": F.softplus(raw[..., m]),
            "gates": torch.sigmoid(raw[..., m + 1]),
            "shifts": torch.softmax(raw[..., m + 2 : m + 2 + s], dim=-1),
            "gammas": 1.0 + F.softplus(raw[..., m + 2 + s]),
        }
        if raw.shape[-1] > self._address_size:
            base = self._address_size
            params["erase"] = torch.sigmoid(raw[..., base : base + m])
            params["add"] = torch.tanh(raw[..., base + m : base + 2 * m])
        return params

    def _address(
        self, params: dict[str, Tensor], memory: Tensor, prev: Tensor, kind: str
    ) -> Tensor:
        weights, stages = addressing.address(
            params["keys"],
            params["strengths"],
            params["gates"],
            params["shifts"],
            params["gammas"],
            memory,
            prev,
            self.similarity,
        )
        if is_tracing():
            for name, value in params.items():
                emit(f"{kind}_{name}", value)
            for name, value in stages.items():
                emit(f"{kind}_{name}_weights", value)
            emit(f"{kind}_weights", weights)
        return weights

    def forward(self, x: Tensor, state: NTMState) -> tuple[Tensor, NTMState]:
        self.check_input(x)
        if self.clip_state_gradients is not None:
            bound = self.clip_state_gradients
            state = tree_map(lambda t: clamp_gradient(t, bound), state)
        batch = x.shape[0]
        hidden, controller_state = self.controller(
            torch.cat([x, state.reads.reshape(batch, -1)], dim=-1), state.controller
        )
        # Under mixed precision the controller and read-out run in low precision, but the head
        # parameters, addressing and memory stay in float32: γ-sharpening and the softmaxes
        # over N slots lose the focus in bfloat16's 8-bit mantissa.
        with torch.autocast(x.device.type, enabled=False):
            raw = self.head_params(hidden.to(state.memory.dtype))
            raw_write, raw_read = raw.split(
                [self._write_param_size, raw.shape[-1] - self._write_param_size], dim=-1
            )
            write = self._head_parameters(raw_write, self.write_heads)
            write_weights = self._address(write, state.memory, state.write_weights, "write")
            memory = addressing.erase_and_write(
                state.memory, write_weights, write["erase"], write["add"]
            )
            read = self._head_parameters(raw_read, self.read_heads)
            read_weights = self._address(read, memory, state.read_weights, "read")
            reads = addressing.read(memory, read_weights)
        if is_tracing():
            emit("memory", memory)
            emit("reads", reads)
        output = self.readout(torch.cat([hidden, reads.reshape(batch, -1)], dim=-1))
        return output, NTMState(controller_state, memory, read_weights, write_weights, reads)


class RecurrentModel(nn.Module):
    """A sequence module around any core, with an ``nn.LSTM``-like interface.

    ``output, state = model(inputs, state=None)`` with inputs (T, B, input_size), or
    (B, T, input_size) when ``batch_first``. Inputs are checked for width, dtype, device and
    NaN before any computation, so a mistake reads as a sentence rather than a stack trace.

    Two options trade memory and compile time for speed, and leave the results unchanged:
    :meth:`compile_step` runs untraced sequences through a compiled step, and
    ``checkpoint_every`` = K keeps only every K-th state for the backward pass and recomputes
    the steps between (gradient checkpointing), so a T-step sequence stores about T/K states
    plus one K-step segment's activations instead of all T steps'.
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
        self._checkpoint_every = steps

    def compile_step(self, chunk_steps: int = 1, direct: bool = True, **compile_kwargs) -> None:
        """Run untraced sequences through ``torch.compile``: the core's step as one graph
        (``fullgraph=True``), reused for every sequence length, and with ``chunk_steps`` = C > 1
        also C steps unrolled into one graph, so a T-step sequence makes T // C calls of that
        and T mod C single steps. Longer chunks cut the per-call overhead (large at batch 1) but
        compile for longer. A core with its own ``compile_step`` (ACT, whose number of ponder
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
        own_compile = getattr(self.core, "compile_step", None)
        if own_compile is not None:
            # A core whose step has data-dependent length (ACT) compiles its own inner step.
            if chunk_steps > 1:
                raise ValueError(
                    f"{type(self.core).__name__} compiles its own step; chunk_steps must be 1"
                )
            own_compile(direct=direct, **compile_kwargs)
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

    def loss(self, task, batch) -> tuple[Tensor, Tensor]:
        """The training loss on ``batch`` and its task part (scalars, in nats).

        The task part is ``task.loss`` of the outputs; cores that report step terms (ACT's ponder
        cost) add them with their weights, counted on the episode's own steps. A core with a
        ``sequence_loss`` method (PonderNet) computes both itself.
        """
        with collecting_step_terms() as terms:
            logits, _ = self(batch.inputs)
        own_loss = getattr(self.core, "sequence_loss", None)
        if own_loss is not None:
            return own_loss(task, batch, logits, terms)
        task_loss = task.loss(logits, batch)
        return task_loss + terms.weighted_total(batch.steps_mask()), task_loss

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


class NTM(RecurrentModel):
    """A Neural Turing Machine over whole sequences; arguments as in :class:`NTMCell`."""

    def __init__(self, input_size: int, output_size: int, *, batch_first: bool = False, **kwargs):
        super().__init__(NTMCell(input_size, output_size, **kwargs), batch_first=batch_first)
