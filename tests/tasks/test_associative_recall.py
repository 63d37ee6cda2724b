import pytest
import torch

from augrnn.tasks.associative_recall import AssociativeRecallConfig, AssociativeRecallTask

BITS, N = 6, 3  # vector width and item length of the default config
ITEM_FLAG, QUERY_FLAG = BITS, BITS + 1


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def parse(batch, b: int):
    """Recover (items, query index, output start) of episode b from its inputs alone."""
    inp = batch.inputs[:, b]
    item_starts = inp[:, ITEM_FLAG].nonzero().flatten().tolist()
    count = len(item_starts)
    assert item_starts == [i * (N + 1) for i in range(count)]
    items = [inp[s + 1 : s + 1 + N, :BITS] for s in item_starts]
    query_flags = inp[:, QUERY_FLAG].nonzero().flatten().tolist()
    start = count * (N + 1)
    assert query_flags == [start, start + N + 1]
    query = inp[start + 1 : start + 1 + N, :BITS]
    matches = [i for i, item in enumerate(items) if torch.equal(item, query)]
    assert matches, "the query must be a copy of one of the items"
    return items, matches[0], start + N + 2


@pytest.mark.parametrize("batch_size", [1, 4, 13])
def test_shapes_and_dtypes(batch_size):
    task = AssociativeRecallTask()
    batch = task.sample(batch_size, gen(0))
    steps = batch.inputs.shape[0]
    assert batch.inputs.shape == (steps, batch_size, 8)
    assert batch.targets.shape == (steps, batch_size, 6)
    assert (task.input_size, task.output_size) == (8, 6)
    assert batch.mask.shape == (steps, batch_size)
    for t in (batch.inputs, batch.targets, batch.mask):
        assert t.dtype == torch.float32
    assert steps == (int(batch.lengths.max()) + 2) * (N + 1)
    assert ((batch.lengths >= 2) & (batch.lengths <= 6)).all()


def test_seeding_is_reproducible_and_uses_only_the_generator():
    task = AssociativeRecallTask()
    state = torch.get_rng_state()
    a, b = task.sample(8, gen(1)), task.sample(8, gen(1))
    assert torch.equal(torch.get_rng_state(), state)
    for x, y in zip(a, b, strict=True):
        assert (x is None and y is None) or torch.equal(x, y)
    c = task.sample(8, gen(2))
    assert a.inputs.shape != c.inputs.shape or not torch.equal(a.inputs, c.inputs)


def test_target_is_the_item_after_the_query_and_masks_fit_each_sample():
    task = AssociativeRecallTask()
    batch = task.sample(32, gen(3))
    assert len(set(batch.lengths.tolist())) > 1
    steps = batch.inputs.shape[0]
    for b in range(32):
        items, q, out = parse(batch, b)
        count = int(batch.lengths[b])
        assert len(items) == count and q <= count - 2
        expected_mask = torch.zeros(steps)
        expected_mask[out : out + N] = 1
        assert torch.equal(batch.mask[:, b], expected_mask)
        assert torch.equal(batch.targets[out : out + N, b], items[q + 1])
        assert batch.targets[:out, b].abs().sum() == 0 and batch.targets[out + N :, b].sum() == 0
        # No input while answering, and zero padding after the episode.
        assert batch.inputs[out:, b].abs().sum() == 0
        for item in items:
            assert set(item.unique().tolist()) <= {0.0, 1.0}


def test_query_is_uniform_over_every_item_but_the_last():
    task = AssociativeRecallTask()
    batch = task.sample(300, gen(4), length=6)
    assert batch.lengths.tolist() == [6] * 300
    queried = torch.tensor([parse(batch, b)[1] for b in range(300)])
    counts = torch.bincount(queried, minlength=6).tolist()
    assert counts[5] == 0
    # 60 expected per item, std ~7: a band of +-25 catches any bias towards one item.
    assert all(35 <= c <= 85 for c in counts[:5]), counts


def test_fixed_item_count_beyond_training_range():
    task = AssociativeRecallTask()
    batch = task.sample(3, gen(5), length=12)
    assert batch.inputs.shape[0] == 14 * (N + 1)
    assert batch.mask.sum(0).tolist() == [N] * 3


def test_loss_and_metrics_of_perfect_logits():
    task = AssociativeRecallTask()
    batch = task.sample(8, gen(6))
    perfect = (batch.targets * 2 - 1) * 50
    assert task.loss(perfect, batch).item() < 1e-6
    metrics = task.metrics(perfect, batch)
    assert metrics["bit_errors"] == 0 and metrics["cost_bits"] < 1e-6
    assert task.metrics(-perfect, batch)["bit_errors"] == N * BITS


@pytest.mark.parametrize(
    "config",
    [
        dict(bits=0),
        dict(item_length=0),
        dict(min_items=1),
        dict(min_items=5, max_items=4),
    ],
)
def test_bad_config_raises(config):
    with pytest.raises(ValueError):
        AssociativeRecallTask(AssociativeRecallConfig(**config))


def test_bad_sample_arguments_raise():
    task = AssociativeRecallTask()
    with pytest.raises(ValueError, match="items"):
        task.sample(2, gen(0), length=1)
    with pytest.raises(ValueError, match="batch_size"):
        task.sample(0, gen(0))


def test_render():
    task = AssociativeRecallTask()
    batch = task.sample(2, gen(7), length=3)
    text = task.render(batch, 0)
    assert "associative_recall" in text and "3 items" in text
