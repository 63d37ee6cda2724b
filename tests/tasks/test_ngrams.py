import math

import pytest
import torch

from augrnn.tasks.ngrams import NGramsConfig, NGramsTask, beta_half, optimal_predictions


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def reference_predictions(seq: list[int], order: int) -> list[float]:
    """Slow per-sequence reference of the optimal estimator, straight from its definition."""
    k = order - 1
    preds = []
    for i in range(1, len(seq)):  # predicting bit i from bits 0..i-1
        if i < k:
            preds.append(0.5)
            continue
        context = seq[i - k : i]
        followers = [seq[j] for j in range(k, i) if seq[j - k : j] == context]
        preds.append((sum(followers) + 0.5) / (len(followers) + 1))
    return preds


@pytest.mark.parametrize("batch_size", [1, 5, 12])
def test_shapes_and_dtypes(batch_size):
    task = NGramsTask()
    batch = task.sample(batch_size, gen(0))
    assert batch.inputs.shape == (200, batch_size, 1) == (200, batch_size, task.input_size)
    assert batch.targets.shape == (200, batch_size, 1) == (200, batch_size, task.output_size)
    assert batch.mask.shape == (200, batch_size)
    for t in (batch.inputs, batch.targets, batch.mask):
        assert t.dtype == torch.float32
    assert batch.lengths.tolist() == [200] * batch_size
    assert task.train_lengths == (200, 200)


def test_seeding_is_reproducible_and_uses_only_the_generator():
    task = NGramsTask()
    state = torch.get_rng_state()
    a, b = task.sample(4, gen(1)), task.sample(4, gen(1))
    assert torch.equal(torch.get_rng_state(), state)
    for x, y in zip(a, b, strict=True):
        assert (x is None and y is None) or torch.equal(x, y)
    assert not torch.equal(a.inputs, task.sample(4, gen(2)).inputs)


@pytest.mark.parametrize("order", [1, 2, 6])
def test_targets_are_the_next_bit_and_mask_needs_a_full_context(order):
    task = NGramsTask(NGramsConfig(order=order, sequence_length=30))
    batch = task.sample(6, gen(3))
    bits = batch.inputs[..., 0]
    assert set(bits.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(batch.targets[:-1, :, 0], bits[1:])
    assert batch.targets[-1].abs().sum() == 0
    first_scored = max(order - 2, 0)  # step t predicts bit t+1, whose context starts at t+2-order
    expected = torch.zeros(30)
    expected[first_scored:29] = 1
    for b in range(6):
        assert torch.equal(batch.mask[:, b], expected)


def test_length_argument_sets_the_sequence_length():
    task = NGramsTask()
    batch = task.sample(3, gen(4), length=50)
    assert batch.inputs.shape == (50, 3, 1)
    assert batch.lengths.tolist() == [50] * 3
    assert batch.mask.sum(0).tolist() == [50 - 5] * 3


def test_beta_half_matches_the_distribution():
    x = beta_half((40000,), gen(5))
    assert ((x >= 0) & (x <= 1)).all()
    assert x.mean().item() == pytest.approx(0.5, abs=0.01)
    assert x.var().item() == pytest.approx(0.125, abs=0.005)  # ab / ((a+b)^2 (a+b+1))
    # Beta(1/2, 1/2) has CDF (2/pi) asin(sqrt(x)): U-shaped, mass piled near 0 and 1.
    inner = ((x > 0.1) & (x < 0.9)).float().mean().item()
    assert inner == pytest.approx(1 - 4 / math.pi * math.asin(math.sqrt(0.1)), abs=0.015)


def test_sequences_follow_a_per_episode_table():
    # order 2: each episode has P(1 | previous bit) for the two contexts; long sequences make
    # the empirical transition frequencies differ across episodes far more than coin flips would.
    task = NGramsTask(NGramsConfig(order=2, sequence_length=2000))
    bits = task.sample(16, gen(6)).inputs[..., 0]
    after_zero = []
    for b in range(16):
        seq = bits[:, b]
        following = seq[1:][seq[:-1] == 0]
        if len(following) >= 50:
            after_zero.append(following.mean().item())
    assert len(after_zero) >= 8
    assert torch.tensor(after_zero).std().item() > 0.15  # fair coins would give ~0.02


def test_optimal_predictions_hand_example():
    bits = torch.tensor([[1.0], [1.0], [0.0]])
    preds = optimal_predictions(bits, order=1)
    assert preds.shape == (2, 1)
    assert preds[:, 0].tolist() == pytest.approx([1.5 / 2, 2.5 / 3])


@pytest.mark.parametrize("order", [1, 3, 4])
def test_optimal_predictions_match_slow_reference(order):
    bits = torch.randint(0, 2, (40, 5), generator=gen(order)).float()
    preds = optimal_predictions(bits, order)
    assert preds.shape == (39, 5)
    for b in range(5):
        seq = [int(v) for v in bits[:, b].tolist()]
        assert preds[:, b].tolist() == pytest.approx(reference_predictions(seq, order), abs=1e-6)


def test_optimal_cost_beats_chance_and_is_scored_on_the_mask():
    task = NGramsTask()
    batch = task.sample(64, gen(7))
    scored = batch.mask.sum(0)
    assert scored.tolist() == [195.0] * 64
    half = torch.zeros_like(batch.targets)  # logit 0: always predict 1/2
    metrics = task.metrics(half, batch)
    assert metrics["cost_bits"] == pytest.approx(195.0, rel=1e-5)
    assert metrics["optimal_cost_bits"] < 0.9 * metrics["cost_bits"]
    # Recompute the optimal cost by hand on exactly the masked steps.
    probs = optimal_predictions(batch.inputs[..., 0], 6).double()
    target = batch.targets[:-1, :, 0].double()
    nats = -(target * probs.log() + (1 - target) * (1 - probs).log())
    expected = ((nats * batch.mask[:-1]).sum(0) / math.log(2)).mean().item()
    assert metrics["optimal_cost_bits"] == pytest.approx(expected, rel=1e-6)


def test_loss_and_metrics_of_perfect_logits():
    task = NGramsTask()
    batch = task.sample(4, gen(8))
    perfect = (batch.targets * 2 - 1) * 50
    assert task.loss(perfect, batch).item() < 1e-6
    metrics = task.metrics(perfect, batch)
    assert metrics["bit_errors"] == 0 and metrics["cost_bits"] < 1e-6
    assert metrics["optimal_cost_bits"] > 0


@pytest.mark.parametrize(
    "config",
    [
        dict(order=0),
        dict(order=6, sequence_length=5),
        dict(order=1, sequence_length=1),
    ],
)
def test_bad_config_raises(config):
    with pytest.raises(ValueError):
        NGramsTask(NGramsConfig(**config))


def test_bad_arguments_raise():
    task = NGramsTask()
    with pytest.raises(ValueError, match="length"):
        task.sample(2, gen(0), length=5)
    with pytest.raises(ValueError, match="batch_size"):
        task.sample(0, gen(0))
    with pytest.raises(ValueError, match="order"):
        optimal_predictions(torch.zeros(5, 2), 0)
    with pytest.raises(ValueError, match="shape"):
        optimal_predictions(torch.zeros(5, 2, 1), 2)


def test_render():
    task = NGramsTask()
    batch = task.sample(2, gen(9), length=20)
    text = task.render(batch, 1, logits=torch.zeros_like(batch.targets))
    assert "ngrams" in text and "20 bits" in text
