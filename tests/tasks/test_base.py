"""The task interface's optional hooks: their defaults, on a toy task of bit vectors."""

import pytest
import torch

from augrnn.tasks.base import Batch, Task

T, B, D = 5, 3, 4


def padded_batch() -> Batch:
    inputs = torch.randn(T, B, D, generator=torch.Generator().manual_seed(0))
    input_mask = torch.ones(T, B)
    input_mask[T - 2 :, 0] = 0
    return Batch(inputs, torch.zeros(T, B, D), input_mask, torch.full((B,), T), input_mask)


def test_the_task_interface_has_defaults_for_its_optional_hooks():
    class Bits(Task):
        name, description, config_class = "bits", "", None
        input_size = output_size = D
        train_lengths = (1, T)

        def sample(self, batch_size, generator, length=None):
            return padded_batch()

        def render(self, batch, index=0, logits=None):
            return f"episode {index} of {batch.inputs.shape[1]}"

    task = Bits.__new__(Bits)
    assert task.io_kind == "bits" and task.metric_weights(None, None) == {}
    assert task.sample_evaluation(3, None).inputs.shape == (T, B, D)
    one, index = task.example(padded_batch(), 0)
    assert index == 0 and one.inputs.shape == (T - 2, 1, D)  # its padding cut off
    assert task.describe_example(one, 0, None) == []
    assert task.sizes_text() == f"input width {D}, output width {D}"
    assert task.showcase(torch.Generator()) == f"episode 0 of {B}"


@pytest.mark.parametrize("task_name", ["copy", "dates", "table_qa", "ngrams", "priority_sort"])
def test_samplers_refuse_non_integer_batch_sizes_and_lengths(task_name):
    from augrnn.registry import task_class

    task = task_class(task_name)()
    generator = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="needs an integer batch_size, got 2.5"):
        task.sample(2.5, generator)
    with pytest.raises(ValueError, match=r"needs an integer \w+, got 3.0"):
        task.sample(2, generator, length=3.0)
