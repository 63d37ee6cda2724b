"""The transduction tasks: episodes laid out as ⟨s⟩ source ||| output steps, targets that are the
source rearranged, the paper's coarse and fine accuracy, and bad settings."""

import pytest
import torch
import torch.nn.functional as F

from augrnn.tasks.transduction import (
    BigramFlipTask,
    TransductionConfig,
    TransductionCopyTask,
    TransductionReversalTask,
)

REARRANGE = {
    TransductionCopyTask: lambda s: s,
    TransductionReversalTask: lambda s: s[::-1],
    BigramFlipTask: lambda s: [s[i ^ 1] for i in range(len(s))],
}


@pytest.mark.parametrize("task_class", list(REARRANGE))
def test_episodes_are_the_source_then_its_rearrangement(task_class):
    task = task_class(TransductionConfig(symbols=6, min_length=2, max_length=9))
    batch = task.sample(40, torch.Generator().manual_seed(0))
    longest = int(batch.lengths.max())
    assert batch.inputs.shape == (2 * longest + 3, 40, 6 + 3)
    assert batch.targets.shape == (2 * longest + 3, 40, 1)
    for b in range(40):
        length = int(batch.lengths[b])
        steps = batch.inputs[:, b]
        assert steps[0, task.start] == 1 and steps[length + 1, task.separator] == 1
        source = steps[1 : length + 1].argmax(-1).tolist()
        assert max(source) < 6
        assert (steps[length + 2 : 2 * length + 3, task.blank] == 1).all()
        assert (steps[2 * length + 3 :] == 0).all()  # padding
        assert batch.input_mask[:, b].sum() == 2 * length + 3
        scored = batch.mask[:, b] > 0
        assert scored.nonzero().flatten().tolist() == list(range(length + 2, 2 * length + 3))
        written = batch.targets[scored, b, 0].tolist()
        assert written == REARRANGE[task_class](source) + [task.end]


def test_bigram_flip_draws_even_lengths_and_refuses_odd_ones():
    task = BigramFlipTask(TransductionConfig(min_length=3, max_length=9))
    lengths = task.sample(200, torch.Generator().manual_seed(0)).lengths
    assert (lengths % 2 == 0).all() and lengths.min() >= 4 and lengths.max() <= 8
    assert task.sample(2, torch.Generator(), length=10).lengths.tolist() == [10, 10]
    with pytest.raises(ValueError, match="even source length >= 2, got 7"):
        task.sample(2, torch.Generator(), length=7)


def test_coarse_and_fine_accuracy_are_the_papers():
    task = TransductionCopyTask(TransductionConfig(symbols=5, min_length=4, max_length=4))
    batch = task.sample(2, torch.Generator().manual_seed(0))
    targets = batch.targets[..., 0].clone()
    # Episode 0 right; episode 1 wrong at its second target symbol of 5 (EOS included).
    second = (batch.mask[:, 1] > 0).nonzero().flatten()[1]
    targets[second, 1] = (targets[second, 1] + 1) % task.classes
    logits = F.one_hot(targets, task.classes).float() * 10
    metrics = task.metrics(logits, batch)
    assert metrics["coarse_accuracy"] == pytest.approx(0.5)
    assert metrics["fine_accuracy"] == pytest.approx((1.0 + 1 / 5) / 2)
    assert metrics["sequence_error_rate"] == pytest.approx(0.5)


def test_rendering_shows_source_target_and_output():
    task = TransductionReversalTask(TransductionConfig(symbols=4, min_length=3, max_length=3))
    batch = task.sample(1, torch.Generator().manual_seed(0))
    text = task.render(batch, 0, logits=torch.zeros(batch.targets.shape[0], 1, task.classes))
    assert "source:" in text and "target:" in text and text.count("</s>") == 1
    assert "output:  0 0 0 0" in text


def test_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match="min_length <= max_length"):
        TransductionConfig(min_length=9, max_length=8)
    with pytest.raises(ValueError, match="symbols must be an integer >= 2"):
        TransductionConfig(symbols=1)
