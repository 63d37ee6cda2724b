"""The DNC core: shapes, the interface vector, finite values at the extremes, the registered kind
inside ACT and on the command line's tasks, what it traces, and that a tiny one learns copy."""

import pytest
import torch

from augrnn.act import ACTConfig
from augrnn.core import Trace
from augrnn.memory.dnc import DNC, DNCCell, DNCConfig, DNCState, oneplus
from augrnn.registry import build_model, model_kind
from augrnn.train.config import load_preset, parse_override_args
from augrnn.train.loop import Trainer

IN, OUT, H, N, W, R, B = 5, 3, 12, 9, 4, 2, 6  # a different size per dimension


SIZES = {"controller_size": H, "memory_slots": N, "memory_width": W, "read_heads": R}


def cell(**kwargs):
    return DNCCell(IN, OUT, **SIZES, **kwargs)


def test_a_step_gives_the_papers_state_shapes():
    dnc = cell()
    state = dnc.initial_state(B)
    assert all(float(t.abs().sum()) == 0 for t in state[1:])  # everything starts at zero
    y, state = dnc(torch.randn(B, IN), state)
    assert y.shape == (B, OUT) and isinstance(state, DNCState)
    shapes = {
        "memory": (B, N, W),
        "usage": (B, N),
        "link": (B, N, N),
        "precedence": (B, N),
        "read_weights": (B, R, N),
        "write_weights": (B, N),
        "reads": (B, R, W),
    }
    for name, shape in shapes.items():
        assert getattr(state, name).shape == shape, name
    assert dnc.interface.out_features == R * W + 3 * W + 5 * R + 3


def test_the_interface_vector_is_squashed_as_the_paper_says():
    xi = cell().interface_vector(torch.randn(B, H) * 10)
    assert (xi["read_strengths"] >= 1).all() and (xi["write_strength"] >= 1).all()
    for gate in ("erase", "free_gates", "allocation_gate", "write_gate"):
        assert ((xi[gate] >= 0) & (xi[gate] <= 1)).all(), gate
    torch.testing.assert_close(xi["read_modes"].sum(-1), torch.ones(B, R))
    assert xi["read_keys"].shape == (B, R, W) and xi["write_vector"].shape == (B, 1, W)
    assert torch.equal(oneplus(torch.tensor([-1e4])), torch.tensor([1.0]))


@pytest.mark.parametrize("scale", [0.0, 1e4])
def test_no_nan_in_outputs_or_gradients_with_zero_memory_or_saturated_gates(scale):
    torch.manual_seed(0)
    dnc = DNC(IN, OUT, clip_controller_outputs=None, **SIZES)
    with torch.no_grad():
        dnc.core.interface.weight.mul_(scale)  # 0: every gate at ½; 1e4: every gate saturated
        dnc.core.interface.bias.mul_(scale)
    y, _ = dnc(torch.randn(15, B, IN))
    y.square().sum().backward()
    assert torch.isfinite(y).all()
    assert all(torch.isfinite(p.grad).all() for p in dnc.parameters() if p.grad is not None)


def test_the_written_memory_and_the_weightings_stay_bounded_over_a_long_sequence():
    torch.manual_seed(1)
    dnc, trace = DNC(IN, OUT, memory_slots=N, memory_width=W, read_heads=R), Trace()
    dnc(torch.randn(60, B, IN), trace=trace)
    for name in ("write_weights", "read_weights", "allocation_weights", "usage"):
        values = trace.stack(name)
        assert ((values >= 0) & (values <= 1 + 1e-5)).all(), name
    assert (trace.stack("write_weights").sum(-1) <= 1 + 1e-5).all()
    link = trace.stack("link")
    assert (link.diagonal(dim1=-2, dim2=-1) == 0).all() and (link.sum(-1) <= 1 + 1e-5).all()


def test_bad_sizes_are_clear_errors():
    with pytest.raises(ValueError, match="DNCCell needs memory_slots >= 1, got 0"):
        DNCCell(IN, OUT, memory_slots=0)
    with pytest.raises(ValueError, match="DNCCell needs an integer read_heads, got 2.5"):
        DNCCell(IN, OUT, read_heads=2.5)
    with pytest.raises(ValueError, match="read_heads must be an integer >= 1, got 0"):
        DNCConfig(read_heads=0)


def test_the_registered_kind_builds_alone_and_inside_act():
    assert model_kind("dnc").is_core
    model = build_model(DNCConfig(controller_size=H, memory_slots=N, memory_width=W), IN, OUT)
    assert model(torch.randn(4, B, IN))[0].shape == (4, B, OUT)
    act = build_model(ACTConfig(core=DNCConfig(controller_size=H, memory_slots=N)), IN, OUT)
    y, _ = act(torch.randn(4, B, IN))
    assert y.shape == (4, B, OUT) and torch.isfinite(y).all()


def test_a_tiny_dnc_learns_a_tiny_copy_task(tmp_path):
    """Copy of 1-4 vectors of 4 bits, batches of 16: from about 10 bits per sequence to under
    0.5 (seeds 0-2 reach it by steps 400-450, about 5 s each)."""
    tiny = (
        "--model.kind=dnc --task.bits=4 --task.max_length=4 --model.controller_size=32 "
        "--model.memory_slots=8 --model.memory_width=6 --model.read_heads=2 --optim.name=adam "
        "--optim.lr=1e-2 --optim.clip_value=none --optim.clip_norm=10 --train.batch_size=16 "
        "--train.eval_sequences=200 --train.tensorboard=false --train.steps=800 "
        "--train.eval_every=50 --train.target=0.5"
    )
    result = Trainer(load_preset("copy", parse_override_args(tiny.split())), tmp_path).train(
        progress=False
    )
    assert result.reached_target, result.eval_metrics
    assert result.eval_metrics["cost_bits"] < 0.5


def test_the_compiled_step_matches_eager_outputs_and_gradients():
    torch.manual_seed(2)
    eager = DNC(IN, OUT, **SIZES)
    compiled = DNC(IN, OUT, **SIZES)
    compiled.load_state_dict(eager.state_dict())
    compiled.compile_step()
    xs = torch.randn(7, B, IN)
    outputs = []
    for model in (eager, compiled):
        ys, state = model(xs)
        (ys.square().sum() + state.link.sum()).backward()
        outputs.append(ys.detach())
    torch.testing.assert_close(outputs[1], outputs[0], rtol=1e-4, atol=1e-5)
    for (name, p), q in zip(eager.named_parameters(), compiled.parameters(), strict=True):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-3, atol=1e-5, msg=name)
    assert len(compiled._compiled_step.captured) == 1  # the compiled kernels ran


def test_clamping_state_gradients_bounds_what_reaches_earlier_steps():
    torch.manual_seed(3)
    xs = torch.randn(6, B, IN)
    grads = {}
    for bound in (None, 1e-9):
        dnc = DNC(IN, OUT, clip_state_gradients=bound, **SIZES)
        torch.manual_seed(4)
        dnc.load_state_dict(DNC(IN, OUT, **SIZES).state_dict())
        inputs = xs.clone().requires_grad_()
        ys, _ = dnc(inputs)
        ys[-1].sum().backward()  # only the last step's output
        grads[bound] = inputs.grad[0].abs().max().item()  # what reaches the first step
    assert grads[None] > 1e-4 and grads[1e-9] < 1e-6
