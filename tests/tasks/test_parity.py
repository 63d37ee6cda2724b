import pytest
import torch

from augrnn.tasks.parity import ParityConfig, ParityTask


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def same(a, b) -> bool:
    return all((x is None and y is None) or torch.equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("batch_size", [1, 4, 9])
def test_shapes(batch_size):
    task = ParityTask()
    batch = task.sample(batch_size, gen(0))
    assert batch.inputs.shape == (1, batch_size, 64)
    assert batch.targets.shape == (1, batch_size, 1)
    assert torch.equal(batch.mask, torch.ones(1, batch_size))
    assert batch.input_mask is None
    assert ((batch.lengths >= 1) & (batch.lengths <= 64)).all()
    assert task.input_size == 64 and task.output_size == 1 and task.train_lengths == (1, 64)


def test_seeding_is_reproducible_and_uses_only_the_generator():
    task = ParityTask()
    state = torch.get_rng_state()
    assert same(task.sample(8, gen(1)), task.sample(8, gen(1)))
    assert torch.equal(torch.get_rng_state(), state)
    assert not same(task.sample(8, gen(1)), task.sample(8, gen(2)))


def test_targets_match_a_brute_force_count():
    task = ParityTask()
    batch = task.sample(64, gen(3))
    assert len(set(batch.lengths.tolist())) > 1
    late_entries = False
    for b in range(64):
        entries = [int(v) for v in batch.inputs[0, b].tolist()]
        assert set(entries) <= {-1, 0, 1}
        nonzero = [i for i, v in enumerate(entries) if v != 0]
        assert len(nonzero) == int(batch.lengths[b])
        late_entries |= any(i >= len(nonzero) for i in nonzero)
        plus_ones = 0
        for v in entries:
            if v == 1:
                plus_ones += 1
        assert batch.targets[0, b, 0].item() == plus_ones % 2
    # The non-zero entries sit at random positions, not always at the front.
    assert late_entries
    assert batch.targets.sum() not in (0, 64)


def test_fixed_nonzero_extrapolates_beyond_training_range():
    # PonderNet's split: train on 1-48 non-zero entries of 96, test on 49-96.
    task = ParityTask(ParityConfig(size=96, max_nonzero=48))
    assert task.train_lengths == (1, 48) and task.length_name == "nonzero"
    assert task.sample(32, gen(4)).lengths.max() <= 48
    for k in (1, 49, 96):
        batch = task.sample(5, gen(4), length=k)
        assert torch.all(batch.lengths == k)
        assert torch.all((batch.inputs != 0).sum(-1) == k)
    with pytest.raises(ValueError, match="nonzero must be <= size"):
        task.sample(2, gen(0), length=97)
    with pytest.raises(ValueError, match="nonzero must be >= 1"):
        task.sample(2, gen(0), length=0)


def test_bad_settings():
    with pytest.raises(ValueError, match="min_nonzero <= max_nonzero <= size"):
        ParityTask(ParityConfig(min_nonzero=10, max_nonzero=5))
    with pytest.raises(ValueError, match="size must be an integer >= 1, got 0"):
        ParityTask(ParityConfig(size=0))
    with pytest.raises(ValueError, match="max_nonzero <= size"):
        ParityTask(ParityConfig(size=8, max_nonzero=9))
    with pytest.raises(ValueError, match="batch_size"):
        ParityTask().sample(0, gen(0))


def test_metrics_report_the_sequence_error_rate():
    task = ParityTask()
    assert task.headline_metric == "sequence_error_rate"
    batch = task.sample(8, gen(5))
    perfect = (batch.targets * 2 - 1) * 50
    assert task.loss(perfect, batch).item() < 1e-6
    assert task.metrics(perfect, batch)["sequence_error_rate"] == 0.0
    one_wrong = perfect.clone()
    one_wrong[0, 3] *= -1
    assert task.metrics(one_wrong, batch)["sequence_error_rate"] == pytest.approx(1 / 8)
    with pytest.raises(ValueError, match="model output has shape"):
        task.loss(torch.zeros(1, 8, 2), batch)


def test_render_shows_the_vector_target_and_output():
    task = ParityTask(ParityConfig(size=8))
    batch = task.sample(2, gen(6), length=3)
    text = task.render(batch, 1, logits=torch.full((1, 2, 1), 10.0))
    assert text.startswith("parity, 3 non-zero")
    input_line = next(line for line in text.splitlines() if line.startswith("input:"))
    assert sum(input_line.count(s) for s in "+-") == 3
    assert "target:" in text and "P(odd) = 1.00" in text
