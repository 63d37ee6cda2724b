import pytest
import torch

from augrnn.tasks.sort import SortConfig, SortTask


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def same(a, b) -> bool:
    return all((x is None and y is None) or torch.equal(x, y) for x, y in zip(a, b, strict=True))


def one_hot_logits(targets: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.one_hot(targets[..., 0], 15).float() * 30


@pytest.mark.parametrize("batch_size", [1, 5, 12])
def test_shapes(batch_size):
    task = SortTask()
    batch = task.sample(batch_size, gen(0))
    steps = 2 * int(batch.lengths.max())
    assert (task.groups, task.classes, task.input_size, task.output_size) == (1, 15, 2, 15)
    assert batch.inputs.shape == (steps, batch_size, 2)
    assert batch.targets.shape == (steps, batch_size, 1)
    assert batch.targets.dtype == torch.long
    assert batch.mask.shape == batch.input_mask.shape == (steps, batch_size)
    assert ((batch.lengths >= 2) & (batch.lengths <= 15)).all()


def test_seeding_is_reproducible_and_uses_only_the_generator():
    task = SortTask()
    state = torch.get_rng_state()
    assert same(task.sample(6, gen(1)), task.sample(6, gen(1)))
    assert torch.equal(torch.get_rng_state(), state)
    assert not same(task.sample(6, gen(1)), task.sample(6, gen(2)))


def test_targets_are_ascending_indices_and_padding_is_masked():
    task = SortTask()
    batch = task.sample(24, gen(3))
    assert len(set(batch.lengths.tolist())) > 1
    steps = batch.inputs.shape[0]
    for b in range(24):
        count = int(batch.lengths[b])
        values = batch.inputs[:count, b, 0].tolist()
        flags = batch.inputs[:, b, 1].tolist()
        assert flags == [0.0] * (count - 1) + [1.0] + [0.0] * (steps - count)
        assert batch.inputs[count:, b].abs().sum() == 0
        # Selection sort by hand: repeatedly take the index of the smallest remaining value.
        remaining = list(range(count))
        expected = []
        while remaining:
            smallest = remaining[0]
            for n in remaining:
                if values[n] < values[smallest]:
                    smallest = n
            expected.append(smallest)
            remaining.remove(smallest)
        assert batch.targets[count : 2 * count, b, 0].tolist() == expected
        assert batch.mask[:, b].tolist() == [0.0] * count + [1.0] * count + [0.0] * (
            steps - 2 * count
        )
        assert batch.input_mask[:, b].tolist() == [1.0] * (2 * count) + [0.0] * (steps - 2 * count)


def test_values_look_standard_normal():
    batch = SortTask().sample(400, gen(4), length=15)
    values = batch.inputs[:15, :, 0]
    assert abs(values.mean().item()) < 0.05 and abs(values.std().item() - 1) < 0.05


def test_fixed_length():
    task = SortTask()
    batch = task.sample(3, gen(5), length=15)
    assert batch.inputs.shape[0] == 30 and torch.all(batch.lengths == 15)
    assert task.sample(3, gen(5), length=1).targets[1].eq(0).all()
    with pytest.raises(ValueError, match="numbers must be <= max_numbers"):
        task.sample(3, gen(5), length=16)
    with pytest.raises(ValueError, match="numbers must be >= 1"):
        task.sample(3, gen(5), length=0)


def test_bad_settings():
    with pytest.raises(ValueError, match="min_numbers <= max_numbers"):
        SortTask(SortConfig(min_numbers=5, max_numbers=4))
    with pytest.raises(ValueError, match="min_numbers must be an integer >= 1, got 0"):
        SortTask(SortConfig(min_numbers=0))
    assert SortTask(SortConfig(max_numbers=8)).output_size == 8


def test_loss_and_metrics_of_perfect_and_wrong_predictions():
    task = SortTask()
    batch = task.sample(8, gen(6))
    perfect = one_hot_logits(batch.targets)
    assert task.loss(perfect, batch).item() < 1e-6
    metrics = task.metrics(perfect, batch)
    assert metrics["sequence_error_rate"] == 0.0 and metrics["cost_bits"] < 1e-6
    wrong = perfect.clone()
    count = int(batch.lengths[3])
    wrong[count + 1, 3] = one_hot_logits((batch.targets[count + 1, 3:4, None] + 1) % 15)[0, 0]
    assert task.metrics(wrong, batch)["sequence_error_rate"] == pytest.approx(1 / 8)
    # Outputs during the input steps are not scored.
    wrong_early = perfect.clone()
    wrong_early[0] = -perfect[0]
    assert task.metrics(wrong_early, batch)["sequence_error_rate"] == 0.0
    with pytest.raises(ValueError, match="model output has shape"):
        task.loss(torch.zeros(batch.targets.shape[0], 8, 14), batch)


def test_render_lists_numbers_order_and_output():
    task = SortTask()
    batch = task.sample(2, gen(7), length=4)
    text = task.render(batch, 0, logits=one_hot_logits(batch.targets))
    lines = text.splitlines()
    assert lines[0].startswith("sort, 4 numbers")
    assert lines[1].count(":") == 1 + 4
    assert lines[2].startswith("target: ") and lines[3] == "output: " + lines[2][8:]
    assert sorted(lines[2].split()[1:]) == ["0", "1", "2", "3"]
