from collections import Counter

import pytest
import torch

from augrnn.tasks.symbol_sort import SymbolSortConfig, SymbolSortTask


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def texts(task, batch, b: int) -> tuple[str, str]:
    return task.source_vocab.decode(batch.inputs[:, b]), task.decode_target(batch.targets[:, b])


def is_ascending(text: str, alphabet: str) -> bool:
    ranks = [alphabet.index(c) for c in text]
    return all(a <= b for a, b in zip(ranks, ranks[1:], strict=False))


def test_targets_hold_the_source_symbols_in_ascending_order():
    task = SymbolSortTask()
    batch = task.sample(64, gen(0))
    repeats = 0
    for b in range(64):
        source, target = texts(task, batch, b)
        assert set(source) <= set("0123456789")
        assert len(source) == int(batch.lengths[b])
        assert Counter(target) == Counter(source) and is_ascending(target, "0123456789")
        repeats += len(set(source)) < len(source)
    assert repeats > 0
    assert int(batch.lengths.min()) >= 5 and int(batch.lengths.max()) <= 20


def test_letters_sort_after_digits():
    alphabet = "0123456789abcdefghij"
    task = SymbolSortTask(SymbolSortConfig(alphabet_size=20))
    batch = task.sample(20, gen(1), length=12)
    for b in range(20):
        source, target = texts(task, batch, b)
        assert Counter(target) == Counter(source) and is_ascending(target, alphabet)


@pytest.mark.parametrize("length", [2, 30, 40])
def test_fixed_length_goes_beyond_training(length):
    task = SymbolSortTask()
    batch = task.sample(3, gen(2), length=length)
    assert torch.all(batch.lengths == length)
    assert batch.inputs.shape == (length, 3) and batch.targets.shape == (length + 1, 3)
    assert batch.mask.eq(1).all() and batch.input_mask.eq(1).all()


def test_invalid_lengths_are_refused():
    with pytest.raises(ValueError, match="symbol_sort length must be >= 1"):
        SymbolSortTask().sample(2, gen(3), length=0)


@pytest.mark.parametrize(
    "config, message",
    [
        (dict(alphabet_size=0), r"alphabet_size must be an integer in \[2, 36\]"),
        (dict(min_length=0), "min_length must be an integer >= 1"),
        (dict(min_length=21), "1 <= min_length <= max_length"),
    ],
)
def test_bad_settings_are_refused(config, message):
    with pytest.raises(ValueError, match=message):
        SymbolSortTask(SymbolSortConfig(**config))
