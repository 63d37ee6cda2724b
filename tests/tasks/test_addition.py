import pytest
import torch

from augrnn.tasks.addition import AdditionConfig, AdditionTask

SYMBOLS = "0123456789*"


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def same(a, b) -> bool:
    return all((x is None and y is None) or torch.equal(x, y) for x, y in zip(a, b, strict=True))


def decode_number(vector: torch.Tensor) -> str:
    """A (50,) input vector -> its digits, most significant first, checking the layout."""
    values = [int(v) for v in vector.tolist()]
    chunks = [values[10 * i : 10 * i + 10] for i in range(5)]
    digits = ""
    for i, chunk in enumerate(chunks):
        if not any(chunk):
            assert not any(v for later in chunks[i:] for v in later), "unused slots come last"
            break
        assert sorted(chunk) == [0] * 9 + [1]
        digits += str(chunk.index(1))
    assert 1 <= len(digits) <= 5
    return digits


def sum_symbols(total: int) -> str:
    return str(total) + "*" * (6 - len(str(total)))


def one_hot_logits(targets: torch.Tensor) -> torch.Tensor:
    return (torch.nn.functional.one_hot(targets, 11).float() * 30).flatten(2)


@pytest.mark.parametrize("batch_size", [1, 4, 10])
def test_shapes(batch_size):
    task = AdditionTask()
    batch = task.sample(batch_size, gen(0))
    steps = int(batch.lengths.max())
    assert (task.groups, task.classes, task.input_size, task.output_size) == (6, 11, 50, 66)
    assert batch.inputs.shape == (steps, batch_size, 50)
    assert batch.targets.shape == (steps, batch_size, 6)
    assert batch.targets.dtype == torch.long
    assert batch.mask.shape == batch.input_mask.shape == (steps, batch_size)
    assert ((batch.lengths >= 1) & (batch.lengths <= 5)).all()


def test_seeding_is_reproducible_and_uses_only_the_generator():
    task = AdditionTask()
    state = torch.get_rng_state()
    assert same(task.sample(6, gen(1)), task.sample(6, gen(1)))
    assert torch.equal(torch.get_rng_state(), state)
    assert not same(task.sample(6, gen(1)), task.sample(6, gen(2)))


def test_targets_are_running_sums_and_padding_is_masked():
    task = AdditionTask()
    batch = task.sample(40, gen(3))
    assert len(set(batch.lengths.tolist())) > 1
    steps = batch.inputs.shape[0]
    digit_counts = set()
    for b in range(40):
        length = int(batch.lengths[b])
        total = 0
        for t in range(length):
            digits = decode_number(batch.inputs[t, b])
            digit_counts.add(len(digits))
            total += int(digits)
            if t == 0:
                assert batch.mask[t, b] == 0, "no target before a sum exists"
            else:
                assert batch.mask[t, b] == 1
                target = "".join(SYMBOLS[k] for k in batch.targets[t, b].tolist())
                assert target == sum_symbols(total)
        assert batch.input_mask[:length, b].eq(1).all()
        assert batch.input_mask[length:, b].eq(0).all() and batch.mask[length:, b].eq(0).all()
        assert batch.inputs[length:, b].abs().sum() == 0
    assert digit_counts == {1, 2, 3, 4, 5}
    assert steps == int(batch.lengths.max())


def test_sum_digits_at_the_edges():
    task = AdditionTask()
    sums = torch.tensor([0, 7, 10, 99999, 100000, 499995, 999999])
    classes = task.sum_classes(sums)
    for total, row in zip(sums.tolist(), classes.tolist(), strict=True):
        assert "".join(SYMBOLS[k] for k in row) == sum_symbols(total)


def test_fixed_length_and_its_limit():
    task = AdditionTask()
    batch = task.sample(3, gen(4), length=10)  # twice the training maximum; sums still fit
    assert batch.inputs.shape[0] == 10 and torch.all(batch.lengths == 10)
    assert torch.equal(batch.mask[1:], torch.ones(9, 3)) and batch.mask[0].sum() == 0
    with pytest.raises(ValueError, match="fits in 6 digits"):
        task.sample(3, gen(4), length=11)
    with pytest.raises(ValueError, match="length must be >= 1"):
        task.sample(3, gen(4), length=0)


def test_settings_set_the_number_of_sum_digits():
    task = AdditionTask(AdditionConfig(max_length=2, max_digits=2))
    assert task.groups == 3 and task.input_size == 20  # 99 + 99 = 198
    with pytest.raises(ValueError, match="min_length <= max_length"):
        AdditionTask(AdditionConfig(min_length=3, max_length=2))
    with pytest.raises(ValueError, match="min_digits must be an integer >= 1, got 0"):
        AdditionTask(AdditionConfig(min_digits=0))
    with pytest.raises(ValueError, match="below 10"):
        AdditionTask(AdditionConfig(max_digits=18, max_length=20))


def test_loss_and_metrics_of_perfect_and_wrong_predictions():
    task = AdditionTask()
    batch = task.sample(8, gen(5), length=3)
    perfect = one_hot_logits(batch.targets)
    assert task.loss(perfect, batch).item() < 1e-6
    metrics = task.metrics(perfect, batch)
    assert metrics["sequence_error_rate"] == 0.0 and metrics["cost_bits"] < 1e-6
    wrong = perfect.clone()
    wrong[2, 6] = one_hot_logits((batch.targets[2:3, 6:7] + 1) % 11)[0, 0]
    assert task.metrics(wrong, batch)["sequence_error_rate"] == pytest.approx(1 / 8)
    # The unscored first step may say anything.
    wrong_first = perfect.clone()
    wrong_first[0] = -perfect[0]
    assert task.metrics(wrong_first, batch)["sequence_error_rate"] == 0.0
    with pytest.raises(ValueError, match="model output has shape"):
        task.loss(torch.zeros(3, 8, 6), batch)


def test_render_shows_numbers_sums_and_outputs():
    task = AdditionTask()
    batch = task.sample(2, gen(6), length=3)
    text = task.render(batch, 1, logits=one_hot_logits(batch.targets))
    lines = text.splitlines()
    assert lines[0] == "addition, 3 numbers" and len(lines) == 2 + 3
    assert "(none)" in lines[2]
    total = sum(int(decode_number(batch.inputs[t, 1])) for t in range(3))
    assert lines[-1].split()[-2:] == [sum_symbols(total)] * 2
