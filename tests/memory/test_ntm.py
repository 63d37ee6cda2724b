"""The NTM core and sequence module: shapes, state, trace, initialisation, bad input, stability."""

import pytest
import torch
from torch.utils._pytree import tree_flatten, tree_unflatten

from augrnn.core import Trace, unroll
from augrnn.memory.ntm import CONSTANT_MEMORY_VALUE, NTM, NTMCell, NTMState
from augrnn.sequence import RecurrentModel

# A different size for every dimension, so a transposed axis fails.
T, B, IN, OUT, N, M, R, W = 6, 3, 4, 5, 7, 2, 2, 3


def small_cell(**kwargs) -> NTMCell:
    settings = dict(controller_size=8, memory_slots=N, memory_width=M, read_heads=R, write_heads=W)
    settings.update(kwargs)
    return NTMCell(IN, OUT, **settings)


def test_step_shapes_and_state_types():
    torch.manual_seed(0)
    cell = small_cell()
    state = cell.initial_state(B)
    assert isinstance(state, NTMState)
    assert state.memory.shape == (B, N, M)
    assert state.read_weights.shape == (B, R, N)
    assert state.write_weights.shape == (B, W, N)
    assert state.reads.shape == (B, R, M)
    y, new_state = cell(torch.randn(B, IN), state)
    assert y.shape == (B, OUT)
    assert new_state.memory.shape == (B, N, M)
    torch.testing.assert_close(new_state.read_weights.sum(-1), torch.ones(B, R))
    torch.testing.assert_close(new_state.write_weights.sum(-1), torch.ones(B, W))
    # the state is immutable: the old memory is untouched by the step
    torch.testing.assert_close(state.memory, torch.full((B, N, M), CONSTANT_MEMORY_VALUE))


def test_sequence_module_time_major_and_batch_first_agree():
    torch.manual_seed(0)
    xs = torch.randn(T, B, IN)
    model = NTM(IN, OUT, controller_size=8, memory_slots=N, memory_width=M)
    y, state = model(xs)
    assert y.shape == (T, B, OUT)
    model_bf = NTM(IN, OUT, batch_first=True, controller_size=8, memory_slots=N, memory_width=M)
    model_bf.load_state_dict(model.state_dict())
    y_bf, state_bf = model_bf(xs.transpose(0, 1))
    assert y_bf.shape == (B, T, OUT)
    torch.testing.assert_close(y_bf.transpose(0, 1), y)
    torch.testing.assert_close(state_bf.memory, state.memory)


def test_continuing_from_a_state_equals_one_pass():
    torch.manual_seed(0)
    model = NTM(IN, OUT, controller_size=8, memory_slots=N, memory_width=M)
    xs = torch.randn(T, B, IN)
    y, _ = model(xs)
    y1, mid = model(xs[:2])
    y2, _ = model(xs[2:], mid)
    torch.testing.assert_close(torch.cat([y1, y2]), y)


def test_trace_holds_the_addressing_pipeline_per_step():
    torch.manual_seed(0)
    cell = small_cell()
    trace = Trace()
    unroll(cell, torch.randn(T, B, IN), trace=trace)
    assert len(trace) == T
    expected_shapes = {
        "read_weights": (T, B, R, N),
        "write_weights": (T, B, W, N),
        "read_keys": (T, B, R, M),
        "write_strengths": (T, B, W),
        "read_gates": (T, B, R),
        "write_shifts": (T, B, W, 3),
        "read_gammas": (T, B, R),
        "write_erase": (T, B, W, M),
        "write_add": (T, B, W, M),
        "read_content_weights": (T, B, R, N),
        "write_gated_weights": (T, B, W, N),
        "read_shifted_weights": (T, B, R, N),
        "memory": (T, B, N, M),
        "reads": (T, B, R, M),
    }
    for name, shape in expected_shapes.items():
        assert trace.stack(name).shape == shape, name
    torch.testing.assert_close(trace.stack("read_weights").sum(-1), torch.ones(T, B, R))
    assert torch.all(trace.stack("read_gammas") >= 1.0)
    # the traced final memory is the memory of the returned state
    _, state = unroll(cell, torch.zeros(1, B, IN))
    traced = Trace()
    unroll(cell, torch.zeros(1, B, IN), trace=traced)
    torch.testing.assert_close(traced.stack("memory")[0], state.memory.detach())


def test_feedforward_controller_and_dot_similarity_run():
    torch.manual_seed(0)
    cell = small_cell(controller="feedforward", controller_layers=2, similarity="dot")
    y, _ = unroll(cell, torch.randn(T, B, IN))
    assert y.shape == (T, B, OUT) and torch.isfinite(y).all()


def test_memory_initialisations():
    torch.manual_seed(0)
    constant = small_cell(memory_init="constant").initial_state(B).memory
    assert torch.all(constant == CONSTANT_MEMORY_VALUE)
    learned_cell = small_cell(memory_init="learned")
    assert any(p is learned_cell.initial_memory for p in learned_cell.parameters())
    y, _ = unroll(learned_cell, torch.randn(T, B, IN))
    y.sum().backward()
    assert learned_cell.initial_memory.grad is not None
    assert learned_cell.initial_memory.grad.abs().sum() > 0
    random_cell = small_cell(memory_init="random")
    first, second = random_cell.initial_state(B).memory, random_cell.initial_state(B).memory
    assert not torch.equal(first, second)


def test_initial_state_follows_dtype():
    cell = small_cell().double()
    state = cell.initial_state(B, dtype=torch.float64)
    assert state.memory.dtype == torch.float64 and state.controller.h.dtype == torch.float64
    y, _ = cell(torch.randn(B, IN, dtype=torch.float64), state)
    assert y.dtype == torch.float64


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(memory_slots=0), "memory_slots >= 1"),
        (dict(shift_width=2), "positive odd"),
        (dict(memory_init="zeros"), "memory_init must be one of"),
        (dict(controller="transformer"), "unknown controller"),
        (dict(similarity="l2"), "similarity must be one of"),
        (dict(clip_controller_outputs=-1.0), "clip_controller_outputs"),
        (dict(clip_state_gradients=0.0), "clip_state_gradients must be positive"),
    ],
)
def test_bad_settings_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        small_cell(**kwargs)


def test_state_gradients_are_clamped_at_every_step_and_compile():
    torch.manual_seed(0)
    bound = 1e-3
    exact = small_cell()
    clamped = small_cell(clip_state_gradients=bound)
    clamped.load_state_dict(exact.state_dict())
    xs = torch.randn(T, B, IN)

    def state_gradients(cell, run):
        state = cell.initial_state(B)
        leaves = [t.detach().clone().requires_grad_() for t in tree_flatten(state)[0]]
        ys, _ = run(xs, tree_unflatten(leaves, tree_flatten(state)[1]))
        (1e3 * ys.square().sum()).backward()
        return [leaf.grad for leaf in leaves]

    grads = state_gradients(exact, lambda xs, s: unroll(exact, xs, s))
    assert max(g.abs().max() for g in grads) > 100 * bound  # would be clamped
    clamped_grads = state_gradients(clamped, lambda xs, s: unroll(clamped, xs, s))
    for g in clamped_grads:
        assert g.abs().max() <= bound
        assert torch.isfinite(g).all()
    # the same clamps inside a compiled step (one graph, autograd.Function traced)
    model = RecurrentModel(clamped)
    model.compile_step(backend="aot_eager")
    for got, expected in zip(state_gradients(clamped, model), clamped_grads, strict=True):
        torch.testing.assert_close(got, expected)


def _cell_whose_gradient_grows_every_step(clip_state_gradients):
    """A cell whose heads keep their previous weights (gate ≈ 0, no shift) and sharpen them
    with γ ≈ 5 from uniform weights: uniform stays uniform going forward, and backpropagation
    multiplies every non-uniform gradient component by γ at each step."""
    cell = small_cell(
        read_heads=1,
        write_heads=1,
        memory_init="learned",
        clip_state_gradients=clip_state_gradients,
    )
    width, shifts = cell.memory_width, cell.shift_width
    with torch.no_grad():
        cell.head_params.weight.zero_()
        write_params = width + shifts + 3 + 2 * width
        for head in (cell.head_params.bias[:write_params], cell.head_params.bias[write_params:]):
            head[width + 1] = -20.0  # g
            head[width + 2 : width + 2 + shifts] = torch.tensor([-20.0, 20.0, -20.0])  # s
            head[width + 2 + shifts] = 4.0  # γ = 1 + softplus(4)
        cell.initial_read_logits.zero_()
        cell.initial_write_logits.zero_()
    return cell


def test_clamped_state_gradients_stay_finite_where_exact_ones_overflow():
    torch.manual_seed(0)
    exact = _cell_whose_gradient_grows_every_step(None)
    clamped = _cell_whose_gradient_grows_every_step(10.0)
    clamped.load_state_dict(exact.state_dict())
    xs = torch.randn(80, B, IN)  # γ^80 ≈ 1e56 overflows float32
    outputs = []
    for cell in (exact, clamped):
        ys, _ = unroll(cell, xs)
        ys[-1].sum().backward()
        outputs.append(ys.detach())
    torch.testing.assert_close(outputs[0], outputs[1], rtol=0, atol=0)
    assert not all(torch.isfinite(p.grad).all() for p in exact.parameters())
    for name, p in clamped.named_parameters():
        assert torch.isfinite(p.grad).all(), name


def test_bad_inputs_are_clear_errors():
    model = NTM(IN, OUT, controller_size=8, memory_slots=N, memory_width=M)
    with pytest.raises(ValueError, match=r"input_size 4, got \(6, 3, 5\)"):
        model(torch.randn(T, B, IN + 1))
    with pytest.raises(ValueError, match=r"\(time, batch, input_size\)"):
        model(torch.randn(B, IN))
    with pytest.raises(ValueError, match="float64 inputs"):
        model(torch.randn(T, B, IN, dtype=torch.float64))
    bad = torch.randn(T, B, IN)
    bad[2, 1, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        model(bad)
    with pytest.raises(TypeError, match="torch.Tensor"):
        model([[0.0] * IN])
    with pytest.raises(ValueError, match=r"shape \(batch >= 1, 4\)"):
        small_cell()(torch.randn(B, IN + 2), small_cell().initial_state(B))


@pytest.mark.parametrize("scale", [1e3, 1e6])
def test_no_nan_in_outputs_or_gradients_with_extreme_inputs(scale):
    torch.manual_seed(0)
    for clip in (20.0, None):
        cell = small_cell(clip_controller_outputs=clip)
        with torch.no_grad():  # saturate every head parameter
            cell.head_params.weight.mul_(1e3)
        y, state = unroll(cell, scale * torch.randn(T, B, IN))
        (y.sum() + state.memory.sum()).backward()
        assert torch.isfinite(y).all()
        for name, p in cell.named_parameters():
            assert p.grad is None or torch.isfinite(p.grad).all(), name


def test_gradcheck_float64_through_a_tiny_ntm():
    torch.manual_seed(0)
    cell = NTMCell(2, 2, controller_size=3, memory_slots=4, memory_width=3).double()
    xs = torch.randn(3, 2, 2, dtype=torch.float64, requires_grad=True)

    def run(inputs):
        return unroll(cell, inputs)[0]

    assert torch.autograd.gradcheck(run, (xs,), atol=1e-5)


def _eager_and_compiled(device: torch.device, **compile_kwargs) -> tuple[NTM, NTM]:
    """Two copies of one small NTM on ``device``, the second compiled (after the move, so it
    compiles for that device)."""
    torch.manual_seed(0)
    eager = NTM(IN, OUT, controller_size=8, memory_slots=N, memory_width=M, read_heads=R)
    compiled = NTM(IN, OUT, controller_size=8, memory_slots=N, memory_width=M, read_heads=R)
    compiled.load_state_dict(eager.state_dict())
    eager.to(device)
    compiled.to(device)
    compiled.compile_step(**compile_kwargs)
    return eager, compiled


def test_compiled_step_matches_eager_and_keeps_the_state_dict(device):
    eager, compiled = _eager_and_compiled(device, dynamic=False)
    assert compiled.state_dict().keys() == eager.state_dict().keys()
    xs = torch.randn(T, B, IN, device=device)
    y_eager, _ = eager(xs)
    y_compiled, _ = compiled(xs)
    torch.testing.assert_close(y_compiled, y_eager, rtol=1e-4, atol=1e-5)
    y_eager.square().sum().backward()
    y_compiled.square().sum().backward()
    for (name, p), q in zip(eager.named_parameters(), compiled.parameters(), strict=True):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-3, atol=1e-5, msg=name)
    # the training steps called the compiled kernels directly (augrnn.compiled_step)
    assert len(compiled._compiled_step.captured) == 1
    # tracing bypasses the compiled step and still records every step
    trace = Trace()
    compiled(xs, trace=trace)
    assert len(trace) == T


def test_direct_chunked_steps_match_eager(device):
    eager, compiled = _eager_and_compiled(device, chunk_steps=2)
    xs = torch.randn(5, B, IN, device=device)  # two 2-step chunks and one single step
    y_eager, g_eager = _outputs_and_gradients(eager, xs)
    y_compiled, g_compiled = _outputs_and_gradients(compiled, xs)
    torch.testing.assert_close(y_compiled, y_eager, rtol=1e-4, atol=1e-5)
    for name, grad in g_eager.items():
        torch.testing.assert_close(g_compiled[name], grad, rtol=1e-3, atol=1e-5, msg=name)
    for step in (compiled._compiled_chunk, compiled._compiled_step):
        assert len(step.captured) == 1 and None not in step._variants.values()


def _outputs_and_gradients(model: NTM, xs: torch.Tensor):
    model.zero_grad(set_to_none=True)
    ys, state = model(xs)
    (ys.square().sum() + state.memory.sum()).backward()
    return ys.detach(), {name: p.grad.clone() for name, p in model.named_parameters()}


def test_chunked_compiled_steps_match_eager_for_any_length():
    torch.manual_seed(0)
    eager = NTM(IN, OUT, controller_size=8, memory_slots=N, memory_width=M, read_heads=R)
    compiled = NTM(IN, OUT, controller_size=8, memory_slots=N, memory_width=M, read_heads=R)
    compiled.load_state_dict(eager.state_dict())
    # aot_eager checks the one-graph capture and the chunking in seconds; the inductor backend
    # is covered by the test above
    compiled.compile_step(chunk_steps=2, backend="aot_eager")
    # 5 steps = two 2-step chunks and one single step; 1 step = a single step only
    for steps in (5, 1):
        xs = torch.randn(steps, B, IN)
        y_eager, g_eager = _outputs_and_gradients(eager, xs)
        y_compiled, g_compiled = _outputs_and_gradients(compiled, xs)
        torch.testing.assert_close(y_compiled, y_eager, rtol=1e-4, atol=1e-5)
        for name, grad in g_eager.items():
            torch.testing.assert_close(g_compiled[name], grad, rtol=1e-3, atol=1e-5, msg=name)


def test_gradient_checkpointing_gives_the_same_gradients_and_stores_less():
    torch.manual_seed(0)
    model = NTM(IN, OUT, controller_size=8, memory_slots=N, memory_width=M, read_heads=R)
    xs = torch.randn(24, B, IN)

    def forward_and_backward():
        """Elements the forward pass saves for the backward, its graph's size, the results."""
        saved = []

        def pack(t):
            saved.append(t.numel())
            return t

        model.zero_grad(set_to_none=True)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            ys, state = model(xs)
        loss = ys.square().sum() + state.memory.sum()
        nodes, stack = set(), [loss.grad_fn]
        while stack:
            node = stack.pop()
            if node is not None and node not in nodes:
                nodes.add(node)
                stack.extend(next_node for next_node, _ in node.next_functions)
        loss.backward()
        grads = {name: p.grad.clone() for name, p in model.named_parameters()}
        return sum(saved), len(nodes), ys.detach(), grads

    plain_saved, plain_nodes, y_plain, g_plain = forward_and_backward()
    model.checkpoint_every = 6
    ckpt_saved, ckpt_nodes, y_ckpt, g_ckpt = forward_and_backward()
    torch.testing.assert_close(y_ckpt, y_plain)
    for name, grad in g_plain.items():
        torch.testing.assert_close(g_ckpt[name], grad, msg=name)
    # the forward keeps only the segments' inputs and states, not every step's activations,
    # and builds one graph node per segment rather than one per operation of every step
    assert ckpt_saved < plain_saved / 3
    assert ckpt_nodes < plain_nodes / 10


def test_checkpointed_compiled_steps_match_eager_with_one_compiled_variant(device):
    eager, compiled = _eager_and_compiled(device)
    compiled.checkpoint_every = 2
    xs = torch.randn(5, B, IN, device=device)  # segments of 2, 2 and 1 steps
    y_eager, g_eager = _outputs_and_gradients(eager, xs)
    y_compiled, g_compiled = _outputs_and_gradients(compiled, xs)
    torch.testing.assert_close(y_compiled, y_eager, rtol=1e-4, atol=1e-5)
    for name, grad in g_eager.items():
        torch.testing.assert_close(g_compiled[name], grad, rtol=1e-3, atol=1e-5, msg=name)
    # the recomputed segments start from dense copies of the states that the step's
    # no-gradient graph returned, so the training graph serves them too
    step = compiled._compiled_step
    assert len(step.captured) == 1 and None not in step._variants.values()


def test_checkpoint_every_rejects_a_bad_segment_length():
    model = NTM(IN, OUT, controller_size=8, memory_slots=N, memory_width=M)
    with pytest.raises(ValueError, match="checkpoint_every must be a positive"):
        model.checkpoint_every = 0
    with pytest.raises(ValueError, match="chunk_steps must be a positive"):
        model.compile_step(chunk_steps=0)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_keeps_addressing_and_memory_in_float32(dtype, device):
    torch.manual_seed(0)
    model = NTM(IN, OUT, controller_size=8, memory_slots=N, memory_width=M, read_heads=R)
    model.to(device)
    xs = torch.randn(T, B, IN, device=device)
    reference, _ = model(xs)
    trace = Trace()
    with torch.autocast(device.type, dtype=dtype):
        ys, state = model(xs, trace=trace)
    assert ys.dtype == dtype  # the read-out runs in low precision
    assert state.memory.dtype == torch.float32
    for name in ("write_weights", "read_weights", "memory", "reads", "read_content_weights"):
        assert trace.stack(name).dtype == torch.float32, name
    weights = trace.stack("read_weights")
    torch.testing.assert_close(weights.sum(-1), torch.ones_like(weights[..., 0]))
    torch.testing.assert_close(ys.float(), reference, atol=0.05, rtol=0.05)
    ys.float().square().sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_a_step_and_its_gradients_on_each_device_match_a_float64_cpu_reference(
    matches_float64_cpu,
):
    xs = torch.randn(T, B, IN, dtype=torch.float64)

    def run(model, dtype, device):
        y, state = model(xs.to(device, dtype))
        assert state.memory.device.type == device.type
        return y

    matches_float64_cpu(
        lambda: NTM(IN, OUT, controller_size=8, memory_slots=N, memory_width=M, read_heads=R), run
    )


def test_a_state_dict_with_separate_read_and_write_maps_still_loads():
    torch.manual_seed(0)
    cell = small_cell()
    old_format = dict(cell.state_dict())
    size = cell._write_param_size
    for kind in ("weight", "bias"):
        merged = old_format.pop(f"head_params.{kind}")
        old_format[f"write_params.{kind}"] = merged[:size]
        old_format[f"read_params.{kind}"] = merged[size:]
    restored = small_cell()
    restored.load_state_dict(old_format)
    for name, value in cell.state_dict().items():
        torch.testing.assert_close(restored.state_dict()[name], value, msg=name)


def test_a_step_compiled_on_one_device_called_on_another_is_a_clear_error():
    model = NTM(IN, OUT, controller_size=8, memory_slots=N, memory_width=M, read_heads=R)
    model.compile_step(backend="aot_eager")
    model.to("meta")  # another device, with no compute: the check comes first
    with pytest.raises(RuntimeError, match="compiled for cpu but is called on meta: call compile"):
        model(torch.randn(T, B, IN, device="meta"))
