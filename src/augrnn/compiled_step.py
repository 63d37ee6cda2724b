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

from augrnn.core import copy_function, default_inductor_options

#: Signatures (argument shapes and layouts) a step compiles for direct calls; further ones (a
#: step called with many batch sizes, say) use the ordinary compiled function, which compiles
#: one variant for all sizes.
MAX_CAPTURES = 6


class DirectStep:
    """``step(x, *rest)`` → whatever ``fn`` returns, through ``fn``'s compiled kernels.

    Args:
        fn: the step, a function of (x, *rest) reading ``module``'s parameters (a bound
            ``forward``, or a function closing over the module), returning tensors in nested
            tuples (None allowed).
        module: the module whose parameters and buffers ``fn`` reads.
        fallback: the ordinary ``torch.compile``'d ``fn``, used where a direct call cannot be.
        compile_options: inductor options for the captured compile (as ``torch.compile``'s
            ``options``).

    x: a tensor (one step's (B, input_size) input, or a chunk's (K, B, input_size)); rest: the
    state and whatever else the step takes, tensors in nested tuples, None, or Python constants
    (each value of a constant compiles a variant of its own). The floating-point tensors in
    ``rest`` are compiled as needing gradients, so the step that starts a sequence (whose state
    may need none) and the steps after it share one variant.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        module: nn.Module,
        fallback: Callable[..., Any],
        compile_options: dict[str, Any] | None = None,
    ):
        self.fn = fn
        self.module = module
        self.fallback = fallback
        self.compile_options = dict(compile_options or {})
        self._registrations = -1
        self._captures = 0
        self._params: list[nn.Parameter] = []
        self._tensor_ids: tuple[int, ...] = ()
        self._variants: dict[tuple, _Variant | None] = {}
        # (matcher, module key, variant) for each key seen: a matcher is generated code that
        # checks arguments against one key and takes out their tensors, several times faster
        # than flattening them and building the key.
        self._matchers: list[tuple[Callable, tuple, Any]] = []

    def __call__(self, x: Tensor, *rest: Any) -> Any:
        if (
            not torch.is_grad_enabled()
            or torch.compiler.is_compiling()
            or torch.is_autocast_enabled(x.device.type)
        ):
            return self.fallback(x, *rest)
        if self._registrations != _registrations[0]:
            # A variant holds the parameters and buffers it was captured with, and a module
            # given new ones (load_state_dict(assign=True)) needs new variants.
            self._params = list(self.module.parameters())
            self._tensor_ids = tuple(map(id, (*self._params, *self.module.buffers())))
            self._registrations = _registrations[0]
            self._matchers = [m for m in self._matchers if m[1][0] == self._tensor_ids]
        module_key = (self._tensor_ids, tuple(p.requires_grad for p in self._params))
        for match, matched_module_key, variant in self._matchers:
            if matched_module_key == module_key:
                leaves = match(x, rest)
                if leaves is not None:
                    return self.fallback(x, *rest) if variant is None else variant(x, leaves)
        leaves, spec = _flatten(rest)
        signatures = tuple(map(_signature, leaves))
        key = (spec, _signature(x), x.requires_grad, signatures, module_key)
        variant = self._variants.get(key, _MISSING)
        if variant is _MISSING:
            variant = self._new_variant(x, spec, leaves, module_key)
            self._variants[key] = variant
        if len(self._matchers) < _MAX_MATCHERS:
            match = _matcher(spec, _signature(x), x.requires_grad, signatures)
            self._matchers.append((match, module_key, variant))
        if variant is None:
            return self.fallback(x, *rest)
        return variant(x, leaves)

    @property
    def captured(self) -> list[_Variant]:
        """The distinct compiled variants called directly so far."""
        found: dict[int, _Variant] = {}
        for variant in self._variants.values():
            variant = getattr(variant, "inner", variant)
            if variant is not None:
                found[id(variant)] = variant
        return list(found.values())

    def _new_variant(
        self, x: Tensor, spec: Any, leaves: list[Tensor], module_key: tuple
    ) -> _Variant | _Densified | None:
        if not any(module_key[1]):  # nothing to train: no backward pass to call directly
            return None
        broadcast = [i for i, t in enumerate(leaves) if _is_broadcast(t)]
        if not broadcast:
            return self._capture(x, _unflatten(leaves, spec))
        # A broadcast state (an initial state expanded over the batch) is made dense and served
        # by the dense layout's variant, instead of compiling one of its own.
        dense = [t.contiguous() if i in broadcast else t for i, t in enumerate(leaves)]
        dense_signatures = tuple(map(_signature, dense))
        dense_key = (spec, _signature(x), x.requires_grad, dense_signatures, module_key)
        inner = self._variants.get(dense_key, _MISSING)
        if inner is _MISSING:
            inner = self._capture(x, _unflatten(dense, spec))
            self._variants[dense_key] = inner
        return None if inner is None else _Densified(inner, broadcast)

    def _capture(self, x: Tensor, rest: tuple) -> _Variant | None:
        if self._captures >= MAX_CAPTURES:
            return None
        self._captures += 1
        try:
            return _capture(self.fn, self.module, x, rest, self.compile_options)
        except Exception as error:  # noqa: BLE001 - any failure falls back to the safe path
            warnings.warn(
                f"the compiled step is called through torch.compile's usual wrappers "
                f"(a direct call was not possible: {type(error).__name__}: {error})",
                stacklevel=3,
            )
            return None


def with_direct_calls(
    fn: Callable[..., Any],
    module: nn.Module,
    compiled: Callable[..., Any],
    compile_kwargs: dict[str, Any],
    direct: bool = True,
) -> Callable[..., Any]:
    """``compiled`` (``compile_fresh(fn, module, **compile_kwargs)``) behind a :class:`DirectStep`
    where direct calls apply: with ``direct``, and inductor (the default backend) in its default
    mode; ``compiled`` itself otherwise."""
    if (
        not direct
        or compile_kwargs.get("backend", "inductor") != "inductor"
        or compile_kwargs.get("mode") is not None
    ):
        return compiled
    options = compile_kwargs.get("options")
    if options is None:
        options = default_inductor_options(module)
    return DirectStep(fn, module, compiled, options)


#: Keys a step keeps matchers for; calls with further keys take the slower general path.
_MAX_MATCHERS = 2 * MAX_CAPTURES
_MISSING: Any = object()
_TENSOR = "tensor"
_functorch_active = torch._C._are_functorch_transforms_active

#: How many parameters and buffers any module has registered, so that a step notices new ones
#: without walking its module at every call.
_registrations = [0]


def _count_registration(module: nn.Module, name: str, tensor: Any) -> None:
    _registrations[0] += 1


nn.modules.module.register_module_parameter_registration_hook(_count_registration)
nn.modules.module.register_module_buffer_registration_hook(_count_registration)


def _signature(t: Tensor) -> tuple:
    return (t.shape, t.stride(), t.dtype, t.device)


def _is_broadcast(t: Tensor) -> bool:
    return any(stride == 0 and size > 1 for size, stride in zip(t.shape, t.stride(), strict=True))


class _Densified:
    """A variant called with the broadcast leaves at ``positions`` made dense first."""

    def __init__(self, inner: _Variant, positions: list[int]):
        self.inner = inner
        self.positions = positions

    def __call__(self, x: Tensor, leaves: list[Tensor]) -> Any:
        leaves = list(leaves)
        for i in self.positions:
            leaves[i] = leaves[i].contiguous()
        return self.inner(x, leaves)


def _flatten(tree: Any) -> tuple[list[Tensor], Any]:
    """The tensors of nested tuples (a core state, a step's arguments) and a hashable
    description of the rest: the tuples' types and any other values (None, Python constants);
    a faster ``tree_flatten`` for the kinds of tree a step takes."""
    leaves: list[Tensor] = []

    def spec_of(node: Any) -> Any:
        if isinstance(node, Tensor):
            leaves.append(node)
            return _TENSOR
        if isinstance(node, tuple):
            return (type(node), tuple(spec_of(child) for child in node))
        if node is None or isinstance(node, (bool, int, float, str)):
            return ("constant", node)
        raise TypeError(f"a step takes tensors, tuples and constants, found {type(node).__name__}")

    return leaves, spec_of(tree)


def _matcher(
    spec: Any, x_signature: tuple, x_requires_grad: bool, signatures: tuple
) -> Callable[[Tensor, tuple], list[Tensor] | None]:
    """A function (x, rest) → the tensors of ``rest`` in :func:`_flatten`'s order where x and
    rest match one key: the structure ``spec`` with its constants, x of ``x_signature`` and
    ``x_requires_grad``, tensors of ``signatures``; else None. Generated code, since walking a
    structure node by node and building its key costs several µs per call."""
    namespace: dict[str, Any] = {"Tensor": Tensor}

    def constant(value: Any) -> str:
        name = f"c{len(namespace)}"
        namespace[name] = value
        return name

    def has_signature(path: str, signature: tuple) -> list[str]:
        shape, stride, dtype, device = map(constant, signature)
        return [
            f"{path}.shape == {shape}",
            f"{path}.stride() == {stride}",
            f"{path}.dtype is {dtype}",
            f"{path}.device == {device}",
        ]

    structure = [*has_signature("x", x_signature), f"x.requires_grad is {x_requires_grad}"]
    paths: list[str] = []

    def visit(node: Any, path: str) -> None:
        if node is _TENSOR:
            structure.append(f"isinstance({path}, Tensor)")
            paths.append(path)
            return
        kind, children = node
        if kind != "constant":
            structure.extend(
                [f"type({path}) is {constant(kind)}", f"len({path}) == {len(children)}"]
            )
            for i, child in enumerate(children):
                visit(child, f"{path}[{i}]")
        elif children is None or isinstance(children, bool):
            structure.append(f"{path} is {children}")
        else:
            structure.extend(
                [f"type({path}) is {constant(type(children))}", f"{path} == {constant(children)}"]
            )

    visit(spec, "r")
    layouts = [c for i, sig in enumerate(signatures) for c in has_signature(f"l[{i}]", sig)]
    source = (
        "def match(x, r):\n"
        f"    if not ({' and '.join(structure)}):\n"
        "        return None\n"
        f"    l = [{', '.join(paths)}]\n"
        f"    return l if {' and '.join(layouts) or 'True'} else None\n"
    )
    exec(source, namespace)
    return namespace["match"]


def _unflatten(leaves: list[Tensor], spec: Any) -> Any:
    """The inverse of :func:`_flatten` (at capture time; calls use a variant's builder)."""
    return _builder(spec, [("rest", i) for i in range(len(leaves))])((), None, leaves)


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
    ``("rest", leaf index)`` or ``("param", tensor)``; ``differentiable[j]``, whether the j-th
    distinct output tensor has a gradient (a backward input of its own); ``positions[k]``, which
    distinct output the k-th returned tensor is, ``("out", j)`` (a step may return one tensor
    twice), or ``("x",)`` or ``("rest", leaf index)`` for an input returned unchanged."""

    def __init__(
        self,
        capture: _Capture,
        sources: list[tuple],
        differentiable: list[bool],
        out_spec: Any,
        positions: list[tuple],
    ):
        outputs = len(differentiable)
        forward_outputs = _graph_output_count(capture.forward_graph)
        placeholders = [n for n in capture.backward_graph.graph.nodes if n.op == "placeholder"]
        tangents = [n for n in placeholders if n.name.startswith("tangents")]
        saved = forward_outputs - outputs
        if len(tangents) != sum(differentiable) or len(placeholders) != saved + len(tangents):
            raise RuntimeError(
                f"unexpected graph layout: {forward_outputs} forward outputs, "
                f"{len(placeholders)} backward inputs of which {len(tangents)} gradients, "
                f"for {outputs} outputs of which {sum(differentiable)} differentiable"
            )
        # Each incoming gradient must have the layout the backward kernel was compiled for.
        layouts = [(tuple(n.meta["val"].shape), tuple(n.meta["val"].stride())) for n in tangents]
        with_gradient = [j for j, d in enumerate(differentiable) if d]
        without_gradient = [j for j, d in enumerate(differentiable) if not d]
        forward_kernel, backward_kernel = map(_bare_callable, (capture.forward, capture.backward))
        # Parameters in their slots; the other slots are filled at each call.
        self.inputs = [s[1] if s[0] == "param" else None for s in sources]
        self.x_slots = [i for i, s in enumerate(sources) if s[0] == "x"]
        self.rest_slots = [(i, s[1]) for i, s in enumerate(sources) if s[0] == "rest"]
        self.build = _builder(out_spec, positions)

        class Step(torch.autograd.Function):
            @staticmethod
            def forward(ctx, *inputs):
                results = forward_kernel(list(inputs))
                ctx.save_for_backward(*results[outputs:])
                returned = tuple(results[:outputs])
                ctx.mark_non_differentiable(*(returned[j] for j in without_gradient))
                return returned

            @staticmethod
            def backward(ctx, *grads):
                if torch.is_grad_enabled():  # create_graph=True
                    raise RuntimeError(
                        "a compiled step cannot be differentiated twice: its backward kernel "
                        "records no graph; run the model uncompiled for higher-order gradients"
                    )
                incoming = [
                    _with_layout(grads[j], layout)
                    for j, layout in zip(with_gradient, layouts, strict=True)
                ]
                return tuple(backward_kernel([*ctx.saved_tensors, *incoming]))

        self.step = Step
        # Function.apply's Python layer only prepares functorch transforms; outside them the
        # C++ apply under it is called directly.
        self.bare_apply = torch._C._FunctionBase.__dict__["apply"].__get__(None, Step)

    def __call__(self, x: Tensor, leaves: list[Tensor]) -> Any:
        inputs = self.inputs.copy()
        for i in self.x_slots:
            inputs[i] = x
        for i, leaf in self.rest_slots:
            inputs[i] = leaves[leaf]
        apply = self.step.apply if _functorch_active() else self.bare_apply
        return self.build(apply(*inputs), x, leaves)


def _builder(spec: Any, positions: list[tuple]) -> Callable[[tuple, Tensor, list], Any]:
    """A function (outputs, x, leaves) → the step's returned structure (``spec``, as
    :func:`_flatten` describes it), its k-th tensor taken from where ``positions[k]`` says;
    generated once per variant, since taking a structure apart and rebuilding it node by node
    costs several µs per call."""
    namespace: dict[str, Any] = {}
    tensors = iter(positions)

    def code(node: Any) -> str:
        if node is _TENSOR:
            where = next(tensors)
            return "x" if where[0] == "x" else f"{'o' if where[0] == 'out' else 'l'}[{where[1]}]"
        kind, children = node
        if kind == "constant":
            name = f"c{len(namespace)}"
            namespace[name] = children
            return name
        name = f"t{len(namespace)}"
        namespace[name] = kind
        parts = ", ".join(code(child) for child in children)
        if hasattr(kind, "_fields"):
            return f"{name}({parts})"
        return f"{name}(({parts}{',' if len(children) == 1 else ''}))"

    # The source is built from the spec's own types and constants, held in the namespace.
    return eval(f"lambda o, x, l: {code(spec)}", namespace)


def _bare_callable(compiled: Any) -> Callable[[list], Any]:
    """The function a compiled graph's wrapper calls; the wrapper's own work (autotuning
    caches, metrics) concerns compiling, not the calls after it."""
    return getattr(compiled, "current_callable", None) or compiled


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


def _capture_settings():
    """AOTAutograd settings for a capture. Its cache would hand back whole compiled graphs
    without compiling the kernels through the capture (inductor's own cache of kernels still
    applies). Donated buffers would let the backward kernel overwrite the tensors it saved,
    which only AOTAutograd's own wrapper guards against a second backward pass
    (``retain_graph=True``)."""
    functorch_config = torch._functorch.config
    settings = {
        name: False
        for name in ("enable_autograd_cache", "donated_buffer")
        if hasattr(functorch_config, name)
    }
    return functorch_config.patch(**settings) if settings else contextlib.nullcontext()


def _capture(fn, module: nn.Module, x: Tensor, rest: tuple, options: dict) -> _Variant:
    """Compile ``fn`` for the signature of (x, *rest), run it forward and backward once on
    copies of them (compiling the backward pass), and check the direct call against it."""
    leaves, spec = _flatten(rest)
    # New leaves over the same memory, so that their layouts (a broadcast state's zero strides
    # among them) are those the kernels will be called with.
    x_copy = x.detach().requires_grad_(x.requires_grad)
    copies = [t.detach().requires_grad_(t.is_floating_point()) for t in leaves]
    capture = _Capture(options)
    compiled = torch.compile(copy_function(fn), backend=capture, fullgraph=True, dynamic=False)
    with _capture_settings():
        returned, out_spec = _flatten(compiled(x_copy, *_unflatten(copies, spec)))
        # The graph returns each distinct tensor once, and an input returned unchanged not at
        # all.
        inputs = {id(x_copy): ("x",), **{id(c): ("rest", i) for i, c in enumerate(copies)}}
        distinct: dict[int, tuple] = {}
        positions = [
            inputs.get(id(r)) or distinct.setdefault(id(r), ("out", len(distinct)))
            for r in returned
        ]
        results = [r for r in {id(r): r for r in returned}.values() if id(r) not in inputs]
        differentiable = [r.requires_grad for r in results]
        if not any(differentiable):
            raise RuntimeError("no output of the step needs a gradient")
        params = [p for p in module.parameters() if p.requires_grad]
        wrt = [t for t in (x_copy, *copies) if t.requires_grad] + params
        # A private generator: capturing must not move the global random stream.
        generator = torch.Generator().manual_seed(0)
        grad_outputs = [
            torch.randn(r.shape, generator=generator, dtype=r.dtype).to(r.device)
            for r in results
            if r.requires_grad
        ]

        def gradients(outputs: list[Tensor]) -> tuple:
            needed = [r for r in outputs if r.requires_grad]
            return torch.autograd.grad(needed, wrt, grad_outputs, allow_unused=True)

        expected = gradients(results)
    if capture.forward is None or capture.backward is None:
        raise RuntimeError("no backward kernel was compiled")

    tensors = {id(t): t for t in (*module.parameters(), *module.buffers())}
    sources: list[tuple] = []
    for t in capture.inputs:
        if t is x_copy:
            sources.append(("x",))
        elif any(t is c for c in copies):
            sources.append(("rest", next(i for i, c in enumerate(copies) if t is c)))
        elif id(t) in tensors:
            sources.append(("param", tensors[id(t)]))
        else:
            raise RuntimeError(f"a graph input of shape {tuple(t.shape)} has no known source")
    variant = _Variant(capture, sources, differentiable, out_spec, positions)

    got_returned, _ = _flatten(variant(x_copy, copies))
    got = [t for t in {id(t): t for t in got_returned}.values() if id(t) not in inputs]
    for a, b in zip((*got, *gradients(got)), (*results, *expected), strict=True):
        if (a is None) != (b is None) or (a is not None and not _same(a, b)):
            raise RuntimeError("the direct call's outputs or gradients differ from torch.compile's")
    return variant


def _same(a: Tensor, b: Tensor) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if not a.is_floating_point():
        return torch.equal(a, b)
    return torch.allclose(a, b, rtol=1e-5, atol=1e-6)
