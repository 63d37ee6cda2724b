import pytest
import torch

from augrnn.tasks.base import bit_errors_per_sequence, masked_bce_per_sequence
from augrnn.tasks.copy import CopyConfig, CopyTask

BITS = 8


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("batch_size", [1, 5])
def test_shapes(batch_size):
    task = CopyTask()
    batch = task.sample(batch_size, gen(0))
    steps = 2 * int(batch.lengths.max()) + 1
    assert batch.inputs.shape == (steps, batch_size, BITS + 1)
    assert batch.targets.shape == (steps, batch_size, BITS)
    assert batch.mask.shape == (steps, batch_size)
    assert ((batch.lengths >= 1) & (batch.lengths <= 20)).all()


def test_layout_targets_and_masks_per_sample():
    task = CopyTask()
    batch = task.sample(16, gen(1))
    assert len(set(batch.lengths.tolist())) > 1
    steps = batch.inputs.shape[0]
    for b in range(16):
        length = int(batch.lengths[b])
        inp, tgt, mask = batch.inputs[:, b], batch.targets[:, b], batch.mask[:, b]
        seq = inp[:length, :BITS]
        assert inp[:length, BITS].sum() == 0 and inp[length, BITS] == 1
        assert inp[length, :BITS].sum() == 0 and inp[length + 1 :].abs().sum() == 0
        expected_mask = torch.zeros(steps)
        expected_mask[length + 1 : 2 * length + 1] = 1
        assert torch.equal(mask, expected_mask)
        assert torch.equal(tgt[length + 1 : 2 * length + 1], seq)
        assert tgt[: length + 1].abs().sum() == 0 and tgt[2 * length + 1 :].abs().sum() == 0
        expected_steps = torch.zeros(steps)
        expected_steps[: 2 * length + 1] = 1
        assert torch.equal(batch.input_mask[:, b], expected_steps)


def test_fixed_length_and_seeding():
    task = CopyTask()
    batch = task.sample(4, gen(2), length=30)  # beyond the training range, for evaluation
    assert torch.all(batch.lengths == 30) and batch.inputs.shape[0] == 61
    again = task.sample(4, gen(2), length=30)
    assert torch.equal(batch.inputs, again.inputs)
    assert not torch.equal(batch.inputs, task.sample(4, gen(3), length=30).inputs)


def test_loss_and_metrics_of_perfect_and_wrong_predictions():
    task = CopyTask(CopyConfig(bits=4, max_length=6))
    batch = task.sample(6, gen(4))
    perfect = (batch.targets * 2 - 1) * 50
    assert task.loss(perfect, batch).item() < 1e-6
    metrics = task.metrics(perfect, batch)
    assert metrics["bit_errors"] == 0 and metrics["sequence_accuracy"] == 1.0
    # Predicting 1/2 everywhere costs exactly one bit per scored bit.
    half = torch.zeros_like(batch.targets)
    cost = masked_bce_per_sequence(half, batch) / torch.log(torch.tensor(2.0))
    torch.testing.assert_close(cost, batch.lengths.float() * 4)
    # Inverting every scored bit makes every one of them an error; padding never counts.
    wrong = -perfect
    torch.testing.assert_close(bit_errors_per_sequence(wrong, batch), batch.lengths.float() * 4)
    assert task.metrics(wrong, batch)["bit_error_rate"] == 1.0


def test_mismatched_logits_and_bad_settings():
    task = CopyTask()
    batch = task.sample(2, gen(5))
    with pytest.raises(ValueError, match="model output has shape"):
        task.loss(torch.zeros(batch.targets.shape[0], 2, BITS + 1), batch)
    with pytest.raises(ValueError, match="min_length <= max_length"):
        CopyTask(CopyConfig(min_length=5, max_length=4))
    with pytest.raises(ValueError, match="length must be >= 1"):
        task.sample(2, gen(0), length=0)
    with pytest.raises(ValueError, match="batch_size"):
        task.sample(0, gen(0))


def test_render_draws_input_target_and_output():
    task = CopyTask()
    batch = task.sample(2, gen(6), length=3)
    text = task.render(batch, 1, logits=(batch.targets * 2 - 1) * 50)
    assert text.startswith("copy, length 3")
    assert "input:" in text and "target:" in text and "output:" in text
    assert text.count("\n") == 3 + 9 + 8 + 8  # header line, then one line per channel
