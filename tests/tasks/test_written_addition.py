import re

import pytest
import torch

from augrnn.tasks.written_addition import WrittenAdditionConfig, WrittenAdditionTask

# A decimal number without leading zeros.
NUMBER = r"(0|[1-9][0-9]*)"


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def operands_and_sum(task, batch, b: int) -> tuple[str, str, str]:
    source = task.source_vocab.decode(batch.inputs[:, b])
    match = re.fullmatch(f"{NUMBER}\\+{NUMBER}", source)
    assert match, source
    return match[1], match[2], task.decode_target(batch.targets[:, b])


def test_targets_are_the_sums_written_without_leading_zeros():
    task = WrittenAdditionTask()
    batch = task.sample(200, gen(0))
    digit_pairs = set()
    for b in range(200):
        a, c, total = operands_and_sum(task, batch, b)
        assert re.fullmatch(NUMBER, total) and int(total) == int(a) + int(c)
        assert int(batch.lengths[b]) == max(len(a), len(c))
        digit_pairs.add((len(a), len(c)))
    # Each operand draws its own digit count.
    assert {a for a, _ in digit_pairs} == {c for _, c in digit_pairs} == {1, 2, 3, 4, 5}
    assert any(a != c for a, c in digit_pairs)


@pytest.mark.parametrize("length", [1, 5, 9])
def test_fixed_length_gives_both_operands_that_many_digits(length):
    task = WrittenAdditionTask()
    batch = task.sample(20, gen(1), length=length)
    assert torch.all(batch.lengths == length)
    assert batch.inputs.shape == (2 * length + 1, 20)
    for b in range(20):
        a, c, total = operands_and_sum(task, batch, b)
        assert len(a) == len(c) == length and int(total) == int(a) + int(c)


def test_invalid_lengths_are_refused():
    with pytest.raises(ValueError, match="written_addition digits must be >= 1"):
        WrittenAdditionTask().sample(2, gen(2), length=0)


def test_settings():
    task = WrittenAdditionTask(WrittenAdditionConfig(min_digits=2, max_digits=3))
    assert task.train_lengths == (2, 3) and (task.input_size, task.output_size) == (14, 13)
    batch = task.sample(30, gen(3))
    for b in range(30):
        a, c, _ = operands_and_sum(task, batch, b)
        assert 2 <= len(a) <= 3 and 2 <= len(c) <= 3


@pytest.mark.parametrize(
    "config",
    [dict(min_digits=0), dict(min_digits=4, max_digits=3)],
)
def test_bad_settings_are_refused(config):
    with pytest.raises(ValueError, match="1 <= min_digits <= max_digits|min_digits must be an"):
        WrittenAdditionTask(WrittenAdditionConfig(**config))


def test_prediction_sources_must_be_a_sum_and_long_numbers_are_noted():
    task = WrittenAdditionTask()
    assert task.source_notes("12+345") == []
    for text in ("12", "1++2", "+3"):
        with pytest.raises(ValueError, match="two numbers joined by"):
            task.source_notes(text)
    assert "more than any in training (5)" in task.source_notes("123456+1")[0]
    assert task.output_problem("1+2", "03") == "a number with a leading zero"
    assert task.output_problem("1+2", "3") is None


def test_binary_targets_are_the_sums_in_binary_of_binary_operands():
    from augrnn.tasks.written_addition import WrittenBinaryAdditionTask

    task = WrittenBinaryAdditionTask()
    assert task.train_lengths == (1, 20)
    batch = task.sample(100, gen(1))
    widths = set()
    for b in range(100):
        source = task.source_vocab.decode(batch.inputs[:, b])
        match = re.fullmatch(r"(0|1[01]*)\+(0|1[01]*)", source)
        assert match, source
        total = task.decode_target(batch.targets[:, b])
        assert re.fullmatch(r"0|1[01]*", total)
        assert int(total, 2) == int(match[1], 2) + int(match[2], 2)
        widths.add(int(batch.lengths[b]))
    assert len(widths) > 5 and max(widths) <= 20
    # a longer test length gives both operands that many bits
    long = task.sample(4, gen(2), length=200)
    source = task.source_vocab.decode(long.inputs[:, 0])
    assert [len(number) for number in source.split("+")] == [200, 200]
    with pytest.raises(ValueError, match=r"such as 110\+1011"):
        task.source_notes("110+10+11")
