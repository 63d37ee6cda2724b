"""The sparse DNC: equal to the dense one when nothing is dropped (K = K_L = N), its sparse
weightings' invariants, exact gradients through the in-place stores, finite values at the
extremes, its settings' errors, and that a tiny one learns copy."""

import pytest
import torch

from augrnn.act import ACTConfig
from augrnn.core import Trace
from augrnn.memory import sparse_dnc as sparse
from augrnn.memory.dnc import DNC, DNCCell, DNCConfig, SparseDNCState
from augrnn.registry import build_model
from augrnn.train.config import load_preset, parse_override_args
from augrnn.train.loop import Trainer

IN, OUT, H, W, R, B = 5, 3, 12, 4, 2, 6  # a different size per dimension


def unroll(cell, xs, state=None):
    state = cell.initial_state(xs.shape[1], dtype=xs.dtype) if state is None else state
    outputs = []
    for x in xs:
        y, state = cell(x, state)
        outputs.append(y)
    return torch.stack(outputs), state


def pair(slots, **kwargs):
    torch.manual_seed(0)
    sizes = dict(controller_size=H, memory_slots=slots, memory_width=W, read_heads=R, **kwargs)
    dense = DNCCell(IN, OUT, **sizes).double()
    sparse_cell = DNCCell(IN, OUT, sparse_reads=slots, **sizes).double()
    sparse_cell.load_state_dict(dense.state_dict())
    return dense, sparse_cell


def test_with_k_equal_to_n_the_sparse_dnc_is_the_dense_one_in_values_and_gradients():
    n = 7
    dense, sparse_cell = pair(n)
    xs = torch.randn(14, B, IN, dtype=torch.float64)
    y_dense, s_dense = unroll(dense, xs)
    y_sparse, s_sparse = unroll(sparse_cell, xs)
    torch.testing.assert_close(y_sparse, y_dense)
    torch.testing.assert_close(s_sparse.memory, s_dense.memory)
    torch.testing.assert_close(s_sparse.usage, s_dense.usage)
    dense_of = sparse.scatter_dense
    torch.testing.assert_close(
        dense_of(s_sparse.read_slots, s_sparse.read_weights, n), s_dense.read_weights
    )
    torch.testing.assert_close(
        dense_of(s_sparse.write_slots, s_sparse.write_weights, n), s_dense.write_weights
    )
    link = dense_of(s_sparse.links_before_slots.long(), s_sparse.links_before, n)
    torch.testing.assert_close(link, s_dense.link)
    transposed = dense_of(s_sparse.links_after_slots.long(), s_sparse.links_after, n)
    torch.testing.assert_close(transposed, s_dense.link.transpose(1, 2))
    torch.testing.assert_close(
        dense_of(s_sparse.precedence_slots, s_sparse.precedence, n), s_dense.precedence
    )
    y_dense.square().sum().backward()
    y_sparse.square().sum().backward()
    for (name, p_dense), p_sparse in zip(
        dense.named_parameters(), sparse_cell.parameters(), strict=True
    ):
        torch.testing.assert_close(p_sparse.grad, p_dense.grad, msg=name)


def test_the_sparse_state_holds_k_entries_per_head_and_k_l_per_link_row():
    n, k, k_links = 40, 3, 2
    dnc = DNCCell(
        IN,
        OUT,
        controller_size=H,
        memory_slots=n,
        memory_width=W,
        read_heads=R,
        sparse_reads=k,
        sparse_links=k_links,
    )
    _, state = unroll(dnc, torch.randn(5, B, IN))
    assert isinstance(state, SparseDNCState)
    shapes = {
        "memory": (B, n, W),
        "usage": (B, n),
        "links_before": (B, n, k_links),
        "links_after_slots": (B, n, k_links),
        "precedence": (B, k_links),
        "read_weights": (B, R, k),
        "write_weights": (B, 2 * k),
        "reads": (B, R, W),
    }
    for name, shape in shapes.items():
        assert getattr(state, name).shape == shape, name
    assert state.links_before_slots.dtype == torch.int32


def test_sparse_weightings_stay_in_range_and_the_link_diagonal_stays_zero():
    torch.manual_seed(3)
    n = 30
    dnc = DNC(
        IN,
        OUT,
        controller_size=H,
        memory_slots=n,
        memory_width=W,
        read_heads=R,
        sparse_reads=4,
        sparse_links=3,
    )
    trace = Trace()
    dnc(torch.randn(40, B, IN), trace=trace)
    for name in ("write_weights", "read_weights", "allocation_weights", "usage"):
        values = trace.stack(name)
        assert ((values >= 0) & (values <= 1 + 1e-5)).all(), name
    for name in ("write_weights", "read_weights", "allocation_weights"):
        assert (trace.stack(name).sum(-1) <= 1 + 1e-5).all(), name
        assert ((trace.stack(name) > 0).sum(-1) <= 8).all(), name  # at most 2K slots
    link = trace.stack("link")
    assert (link.diagonal(dim1=-2, dim2=-1) == 0).all()
    assert (link >= 0).all() and (link.sum(-1) <= 1 + 1e-5).all()
    assert ((link > 0).sum(-1) <= 3).all()  # K_L entries per row


def test_gradients_through_the_in_place_stores_are_exact_float64():
    """gradcheck of three steps of every sparse function, each step reading the in-place stores
    the previous one wrote (the inputs: each step's keys, vectors and gates)."""
    torch.manual_seed(4)
    n, k, k_links, batch = 9, 3, 2, 2

    def three_steps(keys, vectors, gates):
        memory = torch.zeros(batch, n, W, dtype=torch.float64)
        usage = torch.zeros(batch, n, dtype=torch.float64)
        links = (
            torch.zeros(batch, n, k_links, dtype=torch.float64),
            torch.zeros(batch, n, k_links, dtype=torch.int32),
            torch.zeros(batch, n, k_links, dtype=torch.float64),
            torch.zeros(batch, n, k_links, dtype=torch.int32),
        )
        slots = torch.arange(k).expand(batch, R, k)
        reads = (slots, torch.zeros(batch, R, k, dtype=torch.float64))
        write = (torch.arange(2 * k).expand(batch, 2 * k), torch.zeros(batch, 2 * k).double())
        precedence = (torch.arange(k_links).expand(batch, k_links), write[1][:, :k_links])
        outputs = []
        for t in range(3):
            g = torch.sigmoid(gates[:, t])  # (B, R + 2 + 3R): free, allocation, write, modes
            usage = sparse.update_usage(usage, (write[0], write[1].detach()), reads, g[:, :R])
            allocation = sparse.allocation_weights(usage, k)
            content = sparse.content_weights(keys[:, t, :1], memory, 1 + g[:, :1], k)
            write = sparse.write_weights(
                allocation, (content[0][:, 0], content[1][:, 0]), g[:, R], g[:, R + 1]
            )
            memory = sparse.write(memory, write, g[:, :1].expand(-1, W), vectors[:, t])
            sparse.update_link(links, precedence, write)
            precedence = sparse.update_precedence(precedence, write, k_links)
            forward = sparse.directional_weights((links[2], links[3]), reads)
            backward = sparse.directional_weights((links[0], links[1]), reads)
            read_content = sparse.content_weights(keys[:, t, 1:], memory, 1 + g[:, :R], k)
            modes = torch.softmax(gates[:, t, R + 2 :].view(batch, R, 3), -1)
            reads = sparse.read_weights(modes, backward, read_content, forward, k)
            outputs.append(sparse.read(memory, reads))
        return torch.stack(outputs)

    keys = torch.randn(batch, 3, 1 + R, W, dtype=torch.float64, requires_grad=True)
    vectors = torch.randn(batch, 3, W, dtype=torch.float64, requires_grad=True)
    gates = torch.randn(batch, 3, 4 * R + 2, dtype=torch.float64, requires_grad=True)
    assert three_steps(keys, vectors, gates).abs().sum() > 0
    assert torch.autograd.gradcheck(three_steps, (keys, vectors, gates))


def test_a_freed_slot_is_among_those_allocated_next():
    usage = torch.tensor([[0.9, 0.95, 0.0, 0.99, 0.97]])
    slots, weights = sparse.allocation_weights(usage, 2)
    assert slots[0, 0] == 2 and weights[0, 0] > 0.99
    assert slots[0, 1] == 0  # the next least used


def test_merge_sums_repeated_slots_and_keeps_the_largest():
    slots = torch.tensor([[4, 1, 4, 7, 1, 2]])
    values = torch.tensor([[0.1, 0.2, 0.3, 0.05, 0.1, 0.01]])
    kept_slots, kept = sparse.merge(slots, values, 3)
    assert kept_slots.tolist() == [[4, 1, 7]]
    torch.testing.assert_close(kept, torch.tensor([[0.4, 0.3, 0.05]]))
    padded_slots, padded = sparse.merge(torch.tensor([[3, 3, 3]]), torch.ones(1, 3), 3)
    assert padded_slots.tolist() == [[3, 3, 3]] and padded.tolist() == [[3.0, 0.0, 0.0]]


@pytest.mark.parametrize("scale", [0.0, 1e4])
def test_no_nan_with_zero_memory_or_saturated_gates(scale):
    torch.manual_seed(5)
    dnc = DNC(
        IN,
        OUT,
        controller_size=H,
        memory_slots=50,
        memory_width=W,
        read_heads=R,
        sparse_reads=4,
        clip_controller_outputs=None,
    )
    with torch.no_grad():
        dnc.core.interface.weight.mul_(scale)
        dnc.core.interface.bias.mul_(scale)
    y, _ = dnc(torch.randn(15, B, IN))
    y.square().sum().backward()
    assert torch.isfinite(y).all()
    assert all(torch.isfinite(p.grad).all() for p in dnc.parameters() if p.grad is not None)


def test_bad_sparse_settings_are_clear_errors_at_config_time():
    with pytest.raises(ValueError, match=r"sparse_reads must be between 1 and memory_slots \(16\)"):
        DNCConfig(memory_slots=16, sparse_reads=17)
    with pytest.raises(ValueError, match="sparse_reads must be an integer >= 1, got 0"):
        DNCConfig(sparse_reads=0)
    with pytest.raises(ValueError, match=r"sparse_links must be between 1 and memory_slots"):
        DNCConfig(memory_slots=16, sparse_reads=4, sparse_links=20)
    with pytest.raises(ValueError, match="sparse_links=4 needs the sparse DNC"):
        DNCConfig(sparse_links=4)
    with pytest.raises(ValueError, match="N x N link matrix .* set sparse_reads"):
        DNCConfig(memory_slots=1_000_000)
    assert DNCConfig(memory_slots=1_000_000, sparse_reads=8).sparse_reads == 8


def test_the_sparse_model_refuses_compiling_checkpointing_and_act_clearly():
    model = build_model(DNCConfig(controller_size=H, memory_slots=20, sparse_reads=4), IN, OUT)
    assert not model.supports_compile and not model.supports_checkpointing
    with pytest.raises(ValueError, match="cannot be compiled"):
        model.compile_step()
    with pytest.raises(ValueError, match="updates its memory in place"):
        model.set_checkpointing(4)
    inside_act = ACTConfig(core=DNCConfig(controller_size=H, memory_slots=20, sparse_reads=4))
    with pytest.raises(ValueError, match="ACT averages the states of its ponder steps"):
        build_model(inside_act, IN, OUT)


def test_a_tiny_sparse_dnc_learns_a_tiny_copy_task(tmp_path):
    """Copy of 1-2 vectors of 4 bits with 8 slots, each head reading and writing 4 of them,
    batches of 16: from about 6 bits per sequence to under 0.5 by step 300 (about 16 s; copies
    of 1-4 vectors take 400-550 steps, RESULTS.md)."""
    tiny = (
        "--model.kind=dnc --task.bits=4 --task.max_length=2 --model.controller_size=32 "
        "--model.memory_slots=8 --model.memory_width=6 --model.read_heads=2 "
        "--model.sparse_reads=4 --optim.name=adam --optim.lr=1e-2 --optim.clip_value=none "
        "--optim.clip_norm=10 --train.batch_size=16 --train.eval_sequences=200 "
        "--train.tensorboard=false --train.steps=800 --train.eval_every=50 --train.target=0.5"
    )
    result = Trainer(load_preset("copy", parse_override_args(tiny.split())), tmp_path).train(
        progress=False
    )
    assert result.reached_target, result.eval_metrics
