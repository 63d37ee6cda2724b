"""The NRAM's modules: each against its integer definition on one-hot inputs and on random
distributions (results are distributions), READ and WRITE through pointers, float64 gradients."""

import itertools

import pytest
import torch

from augrnn.nram.modules import (
    INTEGER_FUNCTIONS,
    MODULE_NAMES,
    MODULES,
    apply_binary,
    read,
    write,
)

BY_NAME = {module.name: module for module in MODULES}
M = 5


def one_hot(values, m=M):
    return torch.nn.functional.one_hot(torch.tensor(values), m).double()


def test_the_paper_s_fourteen_modules_in_its_order():
    assert MODULE_NAMES == (
        "READ", "ZERO", "ONE", "TWO", "INC", "ADD", "SUB", "DEC", "LESS-THAN",
        "LESS-OR-EQUAL", "EQUALITY", "MIN", "MAX", "WRITE",
    )  # fmt: skip


@pytest.mark.parametrize("name", sorted(INTEGER_FUNCTIONS))
def test_every_module_computes_its_integer_function_on_one_hot_inputs(name):
    pairs = list(itertools.product(range(M), repeat=2))
    a = one_hot([x for x, _ in pairs])
    b = one_hot([y for _, y in pairs])
    memory = torch.zeros(len(pairs), M, M, dtype=torch.double)
    result, _ = BY_NAME[name].apply(a, b, memory)
    expected = one_hot([INTEGER_FUNCTIONS[name](x, y, M) for x, y in pairs])
    assert torch.equal(result, expected)


@pytest.mark.parametrize("name", sorted(INTEGER_FUNCTIONS))
def test_on_distributions_a_module_gives_the_distribution_of_its_result(name):
    g = torch.Generator().manual_seed(1)
    a = torch.rand(3, M, generator=g, dtype=torch.double).softmax(-1)
    b = torch.rand(3, M, generator=g, dtype=torch.double).softmax(-1)
    memory = torch.zeros(3, M, M, dtype=torch.double)
    result, _ = BY_NAME[name].apply(a, b, memory)
    expected = torch.zeros(3, M, dtype=torch.double)
    for x, y in itertools.product(range(M), repeat=2):
        expected[:, INTEGER_FUNCTIONS[name](x, y, M)] += a[:, x] * b[:, y]
    assert torch.allclose(result, expected)
    assert torch.allclose(result.sum(-1), torch.ones(3, dtype=torch.double))


def test_read_and_write_go_through_the_pointer():
    memory = one_hot([3, 1, 4, 1, 0])[None].repeat(2, 1, 1)
    assert torch.equal(read(one_hot([2, 4]), memory), one_hot([4, 0]))
    written = write(one_hot([1, 0]), one_hot([2, 2]), memory)
    assert written[0].argmax(-1).tolist() == [3, 2, 4, 1, 0]
    assert written[1].argmax(-1).tolist() == [2, 1, 4, 1, 0]
    # a pointer split between two cells leaves each half its old value, half the new
    half = write(torch.tensor([[0.5, 0.5, 0, 0, 0]], dtype=torch.double), one_hot([2]), memory[:1])
    assert torch.allclose(half[0, 0], 0.5 * one_hot([3])[0] + 0.5 * one_hot([2])[0])
    assert torch.allclose(half.sum(-1), torch.ones(1, M, dtype=torch.double))


def test_write_returns_the_value_and_reads_see_it():
    memory = torch.zeros(1, M, M, dtype=torch.double)
    memory[..., 0] = 1
    value, memory = BY_NAME["WRITE"].apply(one_hot([3]), one_hot([2]), memory)
    assert torch.equal(value, one_hot([2]))
    assert torch.equal(BY_NAME["READ"].apply(one_hot([3]), one_hot([0]), memory)[0], one_hot([2]))


def test_gradients_in_float64():
    g = torch.Generator().manual_seed(2)
    a, b = (torch.rand(2, 4, generator=g, dtype=torch.double, requires_grad=True) for _ in "ab")
    memory = torch.rand(2, 4, 4, generator=g, dtype=torch.double, requires_grad=True)
    results = torch.tensor([[(x + y) % 4 for y in range(4)] for x in range(4)])
    assert torch.autograd.gradcheck(lambda x, y: apply_binary(x, y, results), (a, b))
    assert torch.autograd.gradcheck(write, (a, b, memory))
    assert torch.autograd.gradcheck(read, (a, memory))


def test_mismatched_shapes_are_clear_errors():
    with pytest.raises(ValueError, match=r"\(B, M\)"):
        apply_binary(torch.ones(2, 3), torch.ones(2, 4), torch.zeros(3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(B, M\)"):
        apply_binary(torch.ones(3), torch.ones(3), torch.zeros(3, 3, dtype=torch.long))
