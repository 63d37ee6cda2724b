"""A compiled recurrent step whose forward and backward kernels are called directly.

``torch.compile`` wraps every call of a compiled function in machinery of its own: Dynamo looks
up the compiled variant and checks its guards, and AOTAutograd's runtime wrappers prepare the
inputs, save what the backward pass needs and check the incoming gradients. On a CPU that costs
some 150-200 µs per call, forward and backward together, and a recurrent step is called once per
time step: for the copy NTM at batch 32 it is about a fifth of the whole training step.

:class:`DirectStep` compiles the step once per input signature with inductor, as
``torch.compile`` would, keeps the two kernels it produces (the forward, which also returns the
tensors the backward pass saves, and the backward), and calls them from a plain
``torch.autograd.Function``. Its first call for a signature checks the direct call against the
ordinary compiled call, outputs and gradients; where anything differs, or the capture fails
(another torch version may lay its graphs out differently), the step falls back to the ordinary
compiled function with a warning. Calls outside training (no gradient, mixed precision) use the
ordinary compiled function too.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from augrnn.core import copy_function

#: Compiled signatures kept per step before further ones use the ordinary compiled function.
MAX_SIGNATURES = 8


class DirectStep:
    """``step(x, state)`` → ``(output, state)`` through ``fn``'s compiled kernels.

    Args:
        fn: the step, a function of (x, state) reading ``module``'s parameters (a bound
            ``forward``, or a function closing over the module).
        module: the module whose parameters and buffers ``fn`` reads.
        fallback: the ordinary ``torch.compile``'d ``fn``, used where a direct call cannot be.
        compile_options: inductor options for the captured compile (as ``torch.compile``'s
            ``options``).

    x: a tensor (one step's (B, input_size) input, or a chunk's (K, B, input_size)); state: a
    nested tuple of tensors. The state's tensors are compiled as needing gradients, so the step
    that starts a sequence (whose state may need none) and the steps after it share one variant.
    """

    def __init__(
        self,
        fn: Callable[[Tensor, Any], tuple[Tensor, Any]],
        module: nn.Module,
        fallback: Callable[[Tensor, Any], tuple[Tensor, Any]],
        compile_options: dict[str, Any] | None = None,
    ):
        self.fn = fn
        self.module = module
        self.fallback = fallback
        self.compile_options = dict(compile_options or {})
        self._params = list(module.parameters())
        self._variants: dict[tuple, _Variant | None] = {}

    def __call__(self, x: Tensor, state: Any) -> tuple[Tensor, Any]:
        if (
            not torch.is_grad_enabled()
            or torch.compiler.is_compiling()
            or torch.is_autocast_enabled(x.device.type)
        ):
            return self.fallback(x, state)
        leaves, spec = _flatten(state)
        trainable = tuple(p.requires_grad for p in self._params)
        key = (spec, _signature(x), x.requires_grad, tuple(map(_signature, leaves)), trainable)
        variant = self._variants.get(key, _MISSING)
        if variant is _MISSING:
            full = len(self._variants) >= MAX_SIGNATURES or not any(trainable)
            variant = None if full else self._capture(x, state)
            self._variants[key] = variant
        if variant is None:
            return self.fallback(x, state)
        return variant(x, leaves)

    def _capture(self, x: Tensor, state: Any) -> _Variant | None:
        try:
            return _capture(self.fn, self.module, x, state, self.compile_options)
        except Exception as error:  # noqa: BLE001 - any failure falls back to the safe path
            warnings.warn(
                f"the compiled step is called through torch.compile's usual wrappers "
                f"(a direct call was not possible: {type(error).__name__}: {error})",
                stacklevel=3,
            )
            return None


_MISSING: Any = object()


def _signature(t: Tensor) -> tuple:
    return (t.shape, t.stride(), t.dtype, t.device)


def _flatten(tree: Any) -> tuple[list[Tensor], Any]:
    """The tensors of a nested tuple (a core state) and a hashable description of its shape;
    a faster ``tree_flatten`` for the one kind of tree a state is."""
    leaves: list[Tensor] = []

    def spec_of(node: Any) -> Any:
        if isinstance(node, Tensor):
            leaves.append(node)
            return None
        if isinstance(node, tuple):
            return (type(node), tuple(spec_of(child) for child in node))
        raise TypeError(f"a state holds tensors in tuples, found {type(node).__name__}")

    return leaves, spec_of(tree)


def _unflatten(leaves: Any, spec: Any) -> Any:
    """The inverse of :func:`_flatten`; ``leaves`` an iterator over the tensors."""
    if spec is None:
        return next(leaves)
    kind, children = spec
    values = [_unflatten(leaves, child) for child in children]
    return kind(*values) if hasattr(kind, "_fields") else kind(values)


class _Capture:
    """A ``torch.compile`` backend that compiles with inductor and keeps the forward and
    backward kernels (and their graphs) it produces."""

    def __init__(self, options: dict[str, Any]):
        self.options = options
        self.inputs: list[Any] | None = None
        self.forward: Any = None
        self.backward: Any = None
        self.forward_graph: torch.fx.GraphModule | None = None
        self.backward_graph: torch.fx.GraphModule | None = None

    def _inner(self, gm, example_inputs, *args, **kwargs):
        from torch._inductor.compile_fx import compile_fx_inner

        compiled = compile_fx_inner(gm, example_inputs, *args, **kwargs)
        if kwargs.get("is_backward"):
            self.backward, self.backward_graph = compiled, gm
        else:
            self.forward, self.forward_graph = compiled, gm
        return compiled

    def __call__(self, gm, example_inputs):
        from torch._inductor.compile_fx import compile_fx

        if self.inputs is not None:
            raise RuntimeError("the step compiled into more than one graph")
        self.inputs = list(example_inputs)
        return compile_fx(
            gm, example_inputs, inner_compile=self._inner, config_patches=self.options
        )


class _Variant:
    """The forward and backward kernels of one compiled signature, called through a plain
    autograd Function. ``sources[i]`` says where the i-th graph input comes from: ``("x",)``,
    ``("state", leaf index)`` or ``("param", tensor)``."""

    def __init__(self, capture: _Capture, sources: list[tuple], outputs: int, out_spec: Any):
        forward_outputs = _graph_output_count(capture.forward_graph)
        placeholders = [n for n in capture.backward_graph.graph.nodes if n.op == "placeholder"]
        tangents = [n for n in placeholders if n.name.startswith("tangents")]
        saved = forward_outputs - outputs
        if len(tangents) != outputs or len(placeholders) != saved + outputs:
            raise RuntimeError(
                f"unexpected graph layout: {forward_outputs} forward outputs, "
                f"{len(placeholders)} backward inputs of which {len(tangents)} gradients, "
                f"for {outputs} outputs"
            )
        # Each incoming gradient must have the layout the backward kernel was compiled for.
        layouts = [(tuple(n.meta["val"].shape), tuple(n.meta["val"].stride())) for n in tangents]
        forward_kernel, backward_kernel = capture.forward, capture.backward
        # Parameters in their slots; the x and state slots are filled at each call.
        self.inputs = [s[1] if s[0] == "param" else None for s in sources]
        self.x_slots = [i for i, s in enumerate(sources) if s[0] == "x"]
        self.state_slots = [(i, s[1]) for i, s in enumerate(sources) if s[0] == "state"]
        self.out_spec = out_spec

        class Step(torch.autograd.Function):
            @staticmethod
            def forward(ctx, *inputs):
                results = forward_kernel(list(inputs))
                ctx.save_for_backward(*results[outputs:])
                return tuple(results[:outputs])

            @staticmethod
            def backward(ctx, *grads):
                grads = [_with_layout(g, layout) for g, layout in zip(grads, layouts, strict=True)]
                return tuple(backward_kernel([*ctx.saved_tensors, *grads]))

        self.step = Step

    def __call__(self, x: Tensor, leaves: list[Tensor]) -> tuple[Tensor, Any]:
        inputs = self.inputs.copy()
        for i in self.x_slots:
            inputs[i] = x
        for i, leaf in self.state_slots:
            inputs[i] = leaves[leaf]
        results = self.step.apply(*inputs)
        return results[0], _unflatten(iter(results[1:]), self.out_spec)


def _graph_output_count(gm: torch.fx.GraphModule) -> int:
    (output,) = [n for n in gm.graph.nodes if n.op == "output"]
    return len(output.args[0])


def _with_layout(grad: Tensor, layout: tuple) -> Tensor:
    shape, stride = layout
    if grad.stride() == stride:
        return grad
    out = grad.new_empty_strided(shape, stride)
    out.copy_(grad)
    return out


def _without_autograd_cache():
    functorch_config = torch._functorch.config
    if hasattr(functorch_config, "enable_autograd_cache"):
        return functorch_config.patch(enable_autograd_cache=False)
    return contextlib.nullcontext()


def _capture(fn, module: nn.Module, x: Tensor, state: Any, options: dict) -> _Variant:
    """Compile ``fn`` for the signature of (x, state), run it forward and backward once on
    copies of them (compiling the backward pass), and check the direct call against it."""
    leaves, spec = _flatten(state)
    x_copy = x.detach().clone().requires_grad_(x.requires_grad)
    state_copies = [t.detach().clone().requires_grad_(t.is_floating_point()) for t in leaves]
    capture = _Capture(options)
    compiled = torch.compile(copy_function(fn), backend=capture, fullgraph=True, dynamic=False)
    # AOTAutograd's cache would hand back whole compiled graphs without compiling the kernels
    # through the capture; inductor's own cache of kernels still applies.
    with _without_autograd_cache():
        output, new_state = compiled(x_copy, _unflatten(iter(state_copies), spec))
        if not isinstance(output, Tensor):
            raise RuntimeError("the step's output is not a tensor")
        new_leaves, out_spec = _flatten(new_state)
        results = [output, *new_leaves]
        params = [p for p in module.parameters() if p.requires_grad]
        wrt = [t for t in (x_copy, *state_copies) if t.requires_grad] + params
        # A private generator: capturing must not move the global random stream.
        generator = torch.Generator().manual_seed(0)
        grad_outputs = [
            torch.randn(r.shape, generator=generator, dtype=r.dtype).to(r.device) for r in results
        ]
        expected = torch.autograd.grad(results, wrt, grad_outputs, allow_unused=True)
    if capture.forward is None or capture.backward is None:
        raise RuntimeError("no backward kernel was compiled")

    tensors = {id(t): t for t in (*module.parameters(), *module.buffers())}
    sources: list[tuple] = []
    for t in capture.inputs:
        if t is x_copy:
            sources.append(("x",))
        elif any(t is s for s in state_copies):
            sources.append(("state", next(i for i, s in enumerate(state_copies) if t is s)))
        elif id(t) in tensors:
            sources.append(("param", tensors[id(t)]))
        else:
            raise RuntimeError(f"a graph input of shape {tuple(t.shape)} has no known source")
    variant = _Variant(capture, sources, len(results), out_spec)

    got_output, got_state = variant(x_copy, state_copies)
    got = [got_output, *_flatten(got_state)[0]]
    got_grads = torch.autograd.grad(got, wrt, grad_outputs, allow_unused=True)
    for a, b in zip((*got, *got_grads), (*results, *expected), strict=True):
        if (a is None) != (b is None) or (
            a is not None and not torch.allclose(a, b, rtol=1e-5, atol=1e-6)
        ):
            raise RuntimeError("the direct call's outputs or gradients differ from torch.compile's")
    return variant
