import pytest
import torch

from augrnn.tasks.logic import GATES, LogicConfig, LogicTask

# The paper's Table 1, written as Python expressions of P and Q, in the table's column order.
PAPER_GATES = [
    ("NOR", lambda p, q: not (p or q)),
    ("Xq", lambda p, q: (not p) and q),
    ("ABJ", lambda p, q: p and not q),
    ("XOR", lambda p, q: p != q),
    ("NAND", lambda p, q: not (p and q)),
    ("AND", lambda p, q: p and q),
    ("XNOR", lambda p, q: p == q),
    ("if/then", lambda p, q: (not p) or q),
    ("then/if", lambda p, q: p or not q),
    ("OR", lambda p, q: p or q),
]


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def same(a, b) -> bool:
    return all((x is None and y is None) or torch.equal(x, y) for x, y in zip(a, b, strict=True))


def brute_force_targets(inputs: torch.Tensor, length: int) -> list[int]:
    """One episode's targets from its (T, 102) inputs, b_0 carried from the previous target."""
    rows = [[int(v) for v in inputs[t].tolist()] for t in range(length)]
    b0 = rows[0][0]
    targets = []
    for t, row in enumerate(rows):
        if t > 0:
            assert row[0] == 0, "b_0 is hidden after the first vector"
        previous, current = b0, row[1]
        chunks = [row[2 + 10 * i : 12 + 10 * i] for i in range(10)]
        gate_count = sum(1 for chunk in chunks if any(chunk))
        assert 1 <= gate_count <= 10
        for chunk in chunks[:gate_count]:
            assert sorted(chunk) == [0] * 9 + [1]
            _, gate = PAPER_GATES[chunk.index(1)]
            previous, current = current, int(bool(gate(bool(current), bool(previous))))
        for chunk in chunks[gate_count:]:
            assert not any(chunk), "the used chunks come first"
        targets.append(current)
        b0 = current
    return targets


def test_gate_table_is_the_papers_table_1():
    assert [gate.name for gate in GATES] == [name for name, _ in PAPER_GATES]
    rows = [(1, 1), (1, 0), (0, 1), (0, 0)]
    for gate, (_, function) in zip(GATES, PAPER_GATES, strict=True):
        assert list(gate.truth) == [int(bool(function(p, q))) for p, q in rows], gate.name


@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_shapes(batch_size):
    task = LogicTask()
    batch = task.sample(batch_size, gen(0))
    steps = int(batch.lengths.max())
    assert task.input_size == 102 and task.output_size == 1
    assert batch.inputs.shape == (steps, batch_size, 102)
    assert batch.targets.shape == (steps, batch_size, 1)
    assert batch.mask.shape == batch.input_mask.shape == (steps, batch_size)
    assert ((batch.lengths >= 1) & (batch.lengths <= 10)).all()


def test_seeding_is_reproducible_and_uses_only_the_generator():
    task = LogicTask()
    state = torch.get_rng_state()
    assert same(task.sample(6, gen(1)), task.sample(6, gen(1)))
    assert torch.equal(torch.get_rng_state(), state)
    assert not same(task.sample(6, gen(1)), task.sample(6, gen(2)))


def test_targets_match_a_brute_force_recursion_and_padding_is_masked():
    task = LogicTask()
    batch = task.sample(32, gen(3))
    assert len(set(batch.lengths.tolist())) > 1
    steps = batch.inputs.shape[0]
    for b in range(32):
        length = int(batch.lengths[b])
        expected = brute_force_targets(batch.inputs[:, b], length)
        assert batch.targets[:length, b, 0].tolist() == expected
        in_episode = torch.tensor([1.0] * length + [0.0] * (steps - length))
        assert torch.equal(batch.mask[:, b], in_episode)
        assert torch.equal(batch.input_mask[:, b], in_episode)
        assert batch.inputs[length:, b].abs().sum() == 0
        assert batch.targets[length:, b].abs().sum() == 0
    assert 0 < batch.targets.sum() < batch.mask.sum()


def test_fewer_gate_chunks():
    task = LogicTask(LogicConfig(max_gates=3, min_gates=3))
    assert task.input_size == 32
    batch = task.sample(4, gen(7), length=2)
    assert torch.all(batch.inputs[:2, :, 2:].sum(-1) == 3)


def test_fixed_length():
    task = LogicTask()
    batch = task.sample(4, gen(4), length=15)  # longer than in training
    assert batch.inputs.shape[0] == 15 and torch.all(batch.lengths == 15)
    assert torch.all(batch.mask == 1)
    for b in range(4):
        assert batch.targets[:, b, 0].tolist() == brute_force_targets(batch.inputs[:, b], 15)
    with pytest.raises(ValueError, match="length must be >= 1"):
        task.sample(2, gen(0), length=0)


def test_bad_settings():
    with pytest.raises(ValueError, match="min_length <= max_length"):
        LogicTask(LogicConfig(min_length=4, max_length=3))
    with pytest.raises(ValueError, match="min_gates must be an integer >= 1, got 0"):
        LogicTask(LogicConfig(min_gates=0))
    with pytest.raises(ValueError, match="min_gates <= max_gates"):
        LogicTask(LogicConfig(min_gates=5, max_gates=4))


def test_metrics_report_the_sequence_error_rate():
    task = LogicTask()
    assert task.headline_metric == "sequence_error_rate"
    batch = task.sample(8, gen(5), length=4)
    perfect = (batch.targets * 2 - 1) * 50
    assert task.loss(perfect, batch).item() < 1e-6
    assert task.metrics(perfect, batch)["sequence_error_rate"] == 0.0
    one_wrong = perfect.clone()
    one_wrong[2, 5] *= -1
    assert task.metrics(one_wrong, batch)["sequence_error_rate"] == pytest.approx(1 / 8)
    with pytest.raises(ValueError, match="model output has shape"):
        task.loss(torch.zeros(4, 8, 2), batch)


def test_wrong_outputs_on_padding_do_not_count():
    task = LogicTask()
    batch = task.sample(16, gen(8))
    logits = (batch.targets * 2 - 1) * 50
    logits[batch.mask == 0] = 50.0
    assert task.metrics(logits, batch)["sequence_error_rate"] == 0.0


def test_render_lists_bits_gates_and_outputs():
    task = LogicTask()
    batch = task.sample(2, gen(6), length=3)
    text = task.render(batch, 0, logits=(batch.targets * 2 - 1) * 50)
    lines = text.splitlines()
    assert lines[0] == "logic, 3 vectors" and "output" in lines[1]
    assert len(lines) == 2 + 3
    assert any(name in text for name, _ in PAPER_GATES)
    assert "1.00" in text or "0.00" in text
