"""The Neural GPU's tasks: every episode's target is the exact result of its input (checked with
Python's integers), one digit per position, only the result's digits scored."""

import pytest
import torch

from augrnn.tasks import TASKS
from augrnn.tasks.long_numbers import LongNumbersConfig, from_digits, to_digits

NAMES = [
    "long_binary_addition",
    "long_binary_multiplication",
    "long_decimal_addition",
    "long_copy",
    "long_reverse",
    "long_duplicate",
]


def decoded(task, batch, b):
    """(input symbols, target digits) of episode b."""
    present = batch.inputs[:, b].sum(-1) > 0
    symbols = batch.inputs[present, b].argmax(-1).tolist()
    scored = batch.mask[:, b] > 0
    return symbols, batch.targets[scored, b, 0].tolist()


def expected(name, base, symbols):
    if name.startswith("long_binary") or name == "long_decimal_addition":
        operator = base if "addition" in name else base + 1
        split = symbols.index(operator)
        x, y = symbols[:split], symbols[split + 1 :]
        a, b = from_digits(x, base), from_digits(y, base)
        value = a + b if "addition" in name else a * b
        return to_digits(value, base, len(x) + 1 if "addition" in name else 2 * len(x))
    if name == "long_copy":
        return symbols
    if name == "long_reverse":
        return symbols[::-1]
    return symbols + symbols


@pytest.mark.parametrize("name", NAMES)
def test_every_target_is_the_exact_result_of_its_input(name):
    task = TASKS[name](LongNumbersConfig(min_n=1, max_n=12))
    g = torch.Generator().manual_seed(3)
    batch = task.sample(16, g)
    width = batch.inputs.shape[0]
    assert batch.inputs.shape == (width, 16, task.input_size)
    assert batch.targets.shape == (width, 16, 1) and task.output_size == task.base
    for b in range(16):
        n = int(batch.lengths[b])
        symbols, target = decoded(task, batch, b)
        digits = [s for s in symbols if s < task.base]
        assert len(digits) == (2 * n if "addition" in name or "multiplication" in name else n)
        assert target == expected(name, task.base, symbols)
        assert int(batch.input_mask[:, b].sum()) == task.input_length(n)
        assert (batch.inputs[task.input_length(n) :, b] == 0).all()  # empty positions


def test_a_batch_has_one_length_and_batches_cover_the_range():
    task = TASKS["long_binary_addition"](LongNumbersConfig(min_n=2, max_n=5))
    g = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(40):
        batch = task.sample(3, g)
        n = int(batch.lengths[0])
        assert (batch.lengths == n).all() and batch.inputs.shape[0] == 2 * n + 1
        seen.add(n)
    assert seen == {2, 3, 4, 5}


def test_a_fixed_length_and_a_long_product():
    task = TASKS["long_binary_multiplication"]()
    batch = task.sample(2, torch.Generator().manual_seed(0), length=300)
    assert batch.inputs.shape[0] == 601 and (batch.lengths == 300).all()
    symbols, target = decoded(task, batch, 1)
    assert target == expected(task.name, 2, symbols) and len(target) == 600


def test_the_digits_helpers_are_inverse():
    assert to_digits(6, 2, 4) == [0, 1, 1, 0] and from_digits([0, 1, 1, 0], 2) == 6
    assert from_digits(to_digits(987654321, 10, 12), 10) == 987654321


def test_render_writes_the_numbers_least_significant_first():
    task = TASKS["long_binary_addition"]()
    batch = task.sample(1, torch.Generator().manual_seed(0), length=4)
    text = task.render(batch, 0, logits=torch.zeros(9, 1, 2))
    symbols, target = decoded(task, batch, 0)
    assert "01+"[symbols[4]] == "+"
    assert f"target:    {''.join(map(str, target))}" in text
    assert "predicted: 00000" in text


def test_bad_lengths_are_clear_errors():
    with pytest.raises(ValueError, match="min_n <= max_n"):
        LongNumbersConfig(min_n=5, max_n=2)
    with pytest.raises(ValueError, match="min_n"):
        LongNumbersConfig(min_n=0)
    with pytest.raises(ValueError, match="n must be >= 1"):
        TASKS["long_copy"]().sample(2, torch.Generator(), length=0)
