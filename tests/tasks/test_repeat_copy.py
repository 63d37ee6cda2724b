import math

import pytest
import torch

from augrnn.tasks.repeat_copy import RepeatCopyConfig, RepeatCopyTask
from augrnn.train.config import apply_overrides, config_from_dict

BITS = 8
# Mean and std of the discrete uniform distribution over {1..10}, computed independently.
MEAN = 5.5
STD = math.sqrt(sum((r - MEAN) ** 2 for r in range(1, 11)) / 10)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def decode_repeats(batch, b: int) -> int:
    length = int(batch.lengths[b])
    value = float(batch.inputs[length, b, BITS + 1])
    return round(value * STD + MEAN)


@pytest.mark.parametrize("batch_size", [1, 3, 16])
def test_shapes_and_dtypes(batch_size):
    task = RepeatCopyTask()
    batch = task.sample(batch_size, gen(0))
    steps = batch.inputs.shape[0]
    assert batch.inputs.shape == (steps, batch_size, task.input_size) == (steps, batch_size, 10)
    assert batch.targets.shape == (steps, batch_size, task.output_size) == (steps, batch_size, 9)
    assert batch.mask.shape == (steps, batch_size)
    assert batch.lengths.shape == (batch_size,)
    for t in (batch.inputs, batch.targets, batch.mask):
        assert t.dtype == torch.float32
    assert ((batch.lengths >= 1) & (batch.lengths <= 10)).all()
    # The batch is exactly as long as its longest episode, L*(R+1) + 2.
    longest = max(
        int(batch.lengths[b]) * (decode_repeats(batch, b) + 1) + 2 for b in range(batch_size)
    )
    assert steps == longest


def test_seeding_is_reproducible_and_uses_only_the_generator():
    task = RepeatCopyTask()
    state = torch.get_rng_state()
    a, b = task.sample(8, gen(1)), task.sample(8, gen(1))
    assert torch.equal(torch.get_rng_state(), state)
    for x, y in zip(a, b, strict=True):
        assert (x is None and y is None) or torch.equal(x, y)
    c = task.sample(8, gen(2))
    assert a.inputs.shape != c.inputs.shape or not torch.equal(a.inputs, c.inputs)


def test_episode_layout_targets_and_masks_per_sample():
    task = RepeatCopyTask()
    batch = task.sample(16, gen(3))
    assert len(set(batch.lengths.tolist())) > 1  # a genuinely variable-size batch
    steps = batch.inputs.shape[0]
    seen_repeats = set()
    for b in range(16):
        length = int(batch.lengths[b])
        reps = decode_repeats(batch, b)
        assert 1 <= reps <= 10
        seen_repeats.add(reps)
        out_end = length + length * reps  # last copy step
        inp, tgt, mask = batch.inputs[:, b], batch.targets[:, b], batch.mask[:, b]

        seq = inp[:length, :BITS]
        assert set(seq.unique().tolist()) <= {0.0, 1.0}
        # Delimiter and count live only on step L; nothing else is input after the sequence.
        assert inp[:length, BITS:].abs().sum() == 0
        assert inp[length, BITS] == 1 and inp[length, :BITS].abs().sum() == 0
        assert inp[length + 1 :].abs().sum() == 0

        expected_mask = torch.zeros(steps)
        expected_mask[length + 1 : out_end + 2] = 1
        assert torch.equal(mask, expected_mask)

        assert torch.equal(tgt[length + 1 : out_end + 1, :BITS], seq.repeat(reps, 1))
        assert tgt[length + 1 : out_end + 1, BITS].abs().sum() == 0
        assert tgt[out_end + 1, BITS] == 1 and tgt[out_end + 1, :BITS].abs().sum() == 0
        assert tgt[: length + 1].abs().sum() == 0 and tgt[out_end + 2 :].abs().sum() == 0
    assert len(seen_repeats) > 1


def test_count_normalisation():
    task = RepeatCopyTask()
    mean, std = task.repeat_scale()
    assert mean == pytest.approx(MEAN) and std == pytest.approx(STD)
    values = []
    for reps in range(1, 11):
        batch = task.sample(2, gen(reps), length=2, repeats=reps)
        values.append(float(batch.inputs[2, 0, BITS + 1]))
    values = torch.tensor(values, dtype=torch.float64)
    assert values.mean().item() == pytest.approx(0.0, abs=1e-6)
    assert values.var(unbiased=False).item() == pytest.approx(1.0, abs=1e-5)
    # A single-value range has std 1, so the count reads as R - R = 0.
    single = RepeatCopyTask(RepeatCopyConfig(min_repeats=3, max_repeats=3))
    assert single.repeat_scale() == (3.0, 1.0)
    assert single.sample(2, gen(0)).inputs[:, :, BITS + 1].abs().sum() == 0


def test_fixed_length_and_repeats_outside_training_range():
    task = RepeatCopyTask()
    batch = task.sample(5, gen(4), length=12, repeats=20)
    assert batch.lengths.tolist() == [12] * 5
    assert batch.inputs.shape[0] == 12 * 21 + 2
    assert batch.mask.sum(0).tolist() == [12 * 20 + 1] * 5
    assert batch.inputs[12, 0, BITS + 1].item() == pytest.approx((20 - MEAN) / STD)
    # With only length fixed, repeats are still drawn from the configured range.
    free = task.sample(32, gen(5), length=3)
    reps = {decode_repeats(free, b) for b in range(32)}
    assert len(reps) > 1 and reps <= set(range(1, 11))


def test_loss_and_metrics_of_perfect_and_wrong_logits():
    task = RepeatCopyTask()
    batch = task.sample(8, gen(6))
    perfect = (batch.targets * 2 - 1) * 50
    assert task.loss(perfect, batch).item() < 1e-6
    metrics = task.metrics(perfect, batch)
    assert metrics["bit_errors"] == 0 and metrics["cost_bits"] < 1e-6
    # Flipping only the end-marker channel must cost one error per sequence.
    flipped = perfect.clone()
    flipped[..., BITS] = -flipped[..., BITS]
    assert task.metrics(flipped, batch)["bit_errors"] == pytest.approx(
        batch.mask.sum(0).mean().item()
    )


@pytest.mark.parametrize(
    "config",
    [
        dict(bits=0),
        dict(min_length=0),
        dict(min_length=5, max_length=4),
        dict(min_repeats=0),
        dict(min_repeats=6, max_repeats=5),
        dict(scale_min_repeats=0),
        dict(scale_min_repeats=6, scale_max_repeats=5),
    ],
)
def test_bad_config_raises(config):
    with pytest.raises(ValueError):
        RepeatCopyTask(RepeatCopyConfig(**config))


def test_a_saved_config_keeps_its_training_scale_on_other_repeat_counts():
    saved = config_from_dict({"task": {"name": "repeat_copy"}}).to_dict()
    assert (saved["task"]["scale_min_repeats"], saved["task"]["scale_max_repeats"]) == (1, 10)
    # What `augrnn eval RUN --task.min_repeats=20 --task.max_repeats=20` scores the run on.
    scored = config_from_dict(
        apply_overrides(saved, {"task.min_repeats": "20", "task.max_repeats": "20"})
    )
    task = RepeatCopyTask(scored.task)
    assert task.repeat_scale() == pytest.approx((MEAN, STD))
    count = task.sample(1, gen(0), length=2).inputs[2, 0, BITS + 1]
    assert float(count) == pytest.approx((20 - MEAN) / STD)
    # A run trained on another range is scaled by that range.
    trained = config_from_dict(
        apply_overrides({"task": {"name": "repeat_copy"}}, {"task.max_repeats": "20"})
    )
    assert trained.task.scale_max_repeats == 20


def test_bad_sample_arguments_raise():
    task = RepeatCopyTask()
    with pytest.raises(ValueError, match="length"):
        task.sample(2, gen(0), length=0)
    with pytest.raises(ValueError, match="repeats"):
        task.sample(2, gen(0), repeats=0)
    with pytest.raises(ValueError, match="batch_size"):
        task.sample(0, gen(0))


def test_render():
    task = RepeatCopyTask()
    batch = task.sample(3, gen(7), length=3, repeats=2)
    text = task.render(batch, 1, logits=(batch.targets * 2 - 1) * 50)
    assert "repeat_copy" in text and "repeats 2" in text and "output" in text
