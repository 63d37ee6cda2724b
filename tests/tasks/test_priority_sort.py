import pytest
import torch

from augrnn.tasks.priority_sort import PrioritySortConfig, PrioritySortTask

BITS = 8
PRIORITY, DELIMITER = BITS, BITS + 1


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("batch_size", [1, 4, 10])
def test_shapes_and_dtypes(batch_size):
    task = PrioritySortTask()
    batch = task.sample(batch_size, gen(0))
    assert batch.inputs.shape == (37, batch_size, 10) == (37, batch_size, task.input_size)
    assert batch.targets.shape == (37, batch_size, 8) == (37, batch_size, task.output_size)
    assert batch.mask.shape == (37, batch_size)
    for t in (batch.inputs, batch.targets, batch.mask):
        assert t.dtype == torch.float32
    assert batch.lengths.tolist() == [20] * batch_size
    assert task.train_lengths == (20, 20)


def test_seeding_is_reproducible_and_uses_only_the_generator():
    task = PrioritySortTask()
    state = torch.get_rng_state()
    a, b = task.sample(6, gen(1)), task.sample(6, gen(1))
    assert torch.equal(torch.get_rng_state(), state)
    for x, y in zip(a, b, strict=True):
        assert (x is None and y is None) or torch.equal(x, y)
    assert not torch.equal(a.inputs, task.sample(6, gen(2)).inputs)


def check_episodes(batch, n_in: int, n_out: int):
    steps = n_in + n_out + 1
    assert batch.inputs.shape[0] == steps
    expected_mask = torch.zeros(steps)
    expected_mask[n_in + 1 :] = 1
    for b in range(batch.inputs.shape[1]):
        inp, tgt = batch.inputs[:, b], batch.targets[:, b]
        assert torch.equal(batch.mask[:, b], expected_mask)
        priorities = inp[:n_in, PRIORITY].tolist()
        assert all(-1 <= p <= 1 for p in priorities)
        assert inp[:n_in, DELIMITER].abs().sum() == 0
        assert inp[n_in, DELIMITER] == 1 and inp[n_in, :DELIMITER].abs().sum() == 0
        assert inp[n_in + 1 :].abs().sum() == 0
        ranked = sorted(range(n_in), key=lambda i: priorities[i], reverse=True)[:n_out]
        assert torch.equal(tgt[n_in + 1 :], inp[ranked, :BITS])
        assert tgt[: n_in + 1].abs().sum() == 0
        # Descending priority: the emitted vectors' priorities never increase.
        emitted = [priorities[i] for i in ranked]
        assert emitted == sorted(emitted, reverse=True)
        left_out = [priorities[i] for i in range(n_in) if i not in ranked]
        assert all(emitted[-1] >= p for p in left_out)


def test_targets_are_top_vectors_in_descending_priority():
    task = PrioritySortTask()
    batch = task.sample(8, gen(3))
    check_episodes(batch, 20, 16)
    priorities = batch.inputs[:20, :, PRIORITY]
    assert priorities.min() < -0.5 and priorities.max() > 0.5  # spread over U[-1, 1]


@pytest.mark.parametrize(
    ("length", "n_out"), [(1, 1), (2, 2), (3, 2), (5, 4), (10, 8), (20, 16), (40, 32)]
)
def test_length_scales_outputs_with_the_configured_ratio(length, n_out):
    task = PrioritySortTask()
    assert task.num_outputs_for(length) == n_out
    batch = task.sample(3, gen(length), length=length)
    assert batch.lengths.tolist() == [length] * 3
    check_episodes(batch, length, n_out)


def test_outputs_never_exceed_inputs():
    task = PrioritySortTask(PrioritySortConfig(num_inputs=7, num_outputs=6))
    for length in range(1, 60):
        assert 1 <= task.num_outputs_for(length) <= length
    full = PrioritySortTask(PrioritySortConfig(bits=3, num_inputs=5, num_outputs=5))
    batch = full.sample(4, gen(4))
    assert batch.inputs.shape == (11, 4, 5)
    priorities = batch.inputs[:5, 0, 3]
    assert torch.equal(
        batch.targets[6:, 0], batch.inputs[priorities.argsort(descending=True), 0, :3]
    )


def test_loss_and_metrics_of_perfect_logits():
    task = PrioritySortTask()
    batch = task.sample(8, gen(5))
    perfect = (batch.targets * 2 - 1) * 50
    assert task.loss(perfect, batch).item() < 1e-6
    metrics = task.metrics(perfect, batch)
    assert metrics["bit_errors"] == 0 and metrics["cost_bits"] < 1e-6
    assert task.metrics(-perfect, batch)["bit_errors"] == 16 * BITS


@pytest.mark.parametrize(
    "config",
    [
        dict(bits=0),
        dict(num_inputs=4, num_outputs=5),
        dict(num_outputs=0),
    ],
)
def test_bad_config_raises(config):
    with pytest.raises(ValueError):
        PrioritySortTask(PrioritySortConfig(**config))


def test_bad_sample_arguments_raise():
    task = PrioritySortTask()
    with pytest.raises(ValueError, match="length"):
        task.sample(2, gen(0), length=0)
    with pytest.raises(ValueError, match="batch_size"):
        task.sample(0, gen(0))


def test_render():
    task = PrioritySortTask()
    batch = task.sample(2, gen(6), length=5)
    text = task.render(batch, 0, logits=(batch.targets * 2 - 1) * 50)
    assert "priority_sort" in text and "5 inputs, 4 outputs" in text and "priorities:" in text
