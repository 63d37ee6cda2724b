import pytest
import torch

from augrnn.tasks.reversal import ReversalConfig, ReversalTask


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def texts(task, batch, b: int) -> tuple[str, str]:
    return task.source_vocab.decode(batch.inputs[:, b]), task.decode_target(batch.targets[:, b])


def test_targets_are_the_sources_backwards():
    task = ReversalTask()
    batch = task.sample(64, gen(0))
    for b in range(64):
        source, target = texts(task, batch, b)
        assert set(source) <= set("0123456789")
        assert len(source) == int(batch.lengths[b])
        assert target == "".join(reversed(source))
    assert int(batch.lengths.min()) >= 5 and int(batch.lengths.max()) <= 20
    assert len(set(batch.lengths.tolist())) > 5


@pytest.mark.parametrize("length", [1, 30, 40])
def test_fixed_length_goes_beyond_training(length):
    task = ReversalTask()
    batch = task.sample(3, gen(1), length=length)
    assert torch.all(batch.lengths == length)
    assert batch.inputs.shape == (length, 3) and batch.targets.shape == (length + 1, 3)
    assert batch.mask.eq(1).all() and batch.input_mask.eq(1).all()
    source, target = texts(task, batch, 2)
    assert target == source[::-1]


def test_invalid_lengths_are_refused():
    task = ReversalTask()
    for length in (0, -3):
        with pytest.raises(ValueError, match="reversal length must be >= 1"):
            task.sample(2, gen(2), length=length)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        task.sample(0, gen(2))


def test_settings():
    task = ReversalTask(ReversalConfig(alphabet_size=16, min_length=3, max_length=3))
    assert task.source_vocab.symbols == tuple("0123456789abcdef") and task.input_size == 19
    assert task.train_lengths == (3, 3)
    batch = task.sample(50, gen(3))
    assert torch.all(batch.lengths == 3)
    assert any(set(texts(task, batch, b)[0]) & set("abcdef") for b in range(50))


@pytest.mark.parametrize(
    "config, message",
    [
        (dict(alphabet_size=1), r"alphabet_size must be an integer in \[2, 36\]"),
        (dict(alphabet_size=37), r"alphabet_size must be an integer in \[2, 36\]"),
        (dict(min_length=0), "min_length must be an integer >= 1"),
        (dict(min_length=8, max_length=7), "1 <= min_length <= max_length"),
    ],
)
def test_bad_settings_are_refused(config, message):
    with pytest.raises(ValueError, match=message):
        ReversalTask(ReversalConfig(**config))
