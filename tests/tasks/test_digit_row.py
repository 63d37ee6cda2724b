"""Digit row: images built from scikit-learn's handwritten digits, disjoint pools, spans, rendering.

Every digit of every episode is checked against the original 8x8 images: the canvas slice under
its span must be one of its pool's images, with the label the target names.
"""

import sys

import pytest
import torch
import torch.nn.functional as F

from augrnn.tasks import TASKS
from augrnn.tasks import digit_row as digit_row_module
from augrnn.tasks.digit_row import DIGIT_SIZE, DigitRowConfig, DigitRowTask, digit_images
from augrnn.tasks.text import Vocabulary

PAD, EOS, SPECIALS = Vocabulary.PAD, Vocabulary.EOS, Vocabulary.SPECIALS


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def digits():
    return digit_images()


def matching_images(window: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """Indices of the 8x8 images equal to the (rows, 8) canvas window at any row offset."""
    found = set()
    for top in range(window.shape[0] - DIGIT_SIZE + 1):
        rest = torch.cat([window[:top], window[top + DIGIT_SIZE :]])
        if rest.abs().sum() > 0:
            continue  # a digit's column slice holds nothing but that digit
        piece = window[top : top + DIGIT_SIZE]
        found |= set((images == piece).flatten(1).all(1).nonzero().flatten().tolist())
    return torch.tensor(sorted(found), dtype=torch.long)


def check_episodes(task, batch, spans, digits, pool):
    """Every digit under its span is an image of ``pool`` with the target's label; the canvas is
    zero outside the digits' columns."""
    images, labels = digits
    pool_set = set(task.pool_indices(pool).tolist())
    for b, k in enumerate(batch.lengths.tolist()):
        canvas = batch.inputs[b, 0]
        covered = torch.zeros(canvas.shape[1], dtype=torch.bool)
        for j in range(k):
            start, end = spans[b, j].tolist()
            assert end - start == DIGIT_SIZE
            covered[start:end] = True
            matches = matching_images(canvas[:, start:end], images)
            assert len(matches) > 0, f"episode {b}, digit {j}: no original image under its span"
            assert set(matches.tolist()) & pool_set, f"episode {b}, digit {j} is not from {pool}"
            assert torch.all(labels[matches] + SPECIALS == batch.targets[j, b])
        assert canvas[:, ~covered].abs().sum() == 0
        assert torch.all(spans[b, k:] == -1)


def test_registered_sizes_and_vocabulary():
    task = DigitRowTask()
    assert TASKS["digit_row"] is DigitRowTask
    assert task.input_size == 1 and task.output_size == 13
    assert task.target_vocab.symbols == tuple("0123456789")
    assert task.train_lengths == (3, 5) and task.headline_metric == "sequence_error_rate"
    assert DigitRowTask(DigitRowConfig(classes=4)).output_size == 7


@pytest.mark.parametrize("batch_size", [1, 7, 32])
def test_shapes_dtypes_and_masks(batch_size):
    task = DigitRowTask()
    batch, spans = task.sample_with_spans(batch_size, gen(0))
    k = batch.lengths
    k_max = int(k.max())
    assert batch.inputs.dtype == torch.float32 and batch.inputs.dim() == 4
    assert batch.inputs.shape[:3] == (batch_size, 1, DIGIT_SIZE + 2)
    assert batch.inputs.min() >= 0 and batch.inputs.max() <= 1
    assert batch.targets.shape == batch.mask.shape == (k_max + 1, batch_size)
    assert batch.targets.dtype == batch.lengths.dtype == spans.dtype == torch.long
    assert batch.mask.dtype == torch.float32 and batch.input_mask is None
    assert spans.shape == (batch_size, k_max, 2)
    assert int(k.min()) >= 3 and int(k.max()) <= 5
    # Every canvas is as wide as the widest row of max_digits digits can be.
    ends = spans[torch.arange(batch_size), k - 1, 1]
    assert batch.inputs.shape[3] == task.canvas_width == 5 * (DIGIT_SIZE + 2)
    for b in range(batch_size):
        kb = int(k[b])
        assert torch.all(batch.targets[:kb, b] >= SPECIALS) and batch.targets[kb, b] == EOS
        assert torch.all(batch.targets[kb + 1 :, b] == PAD)
        assert batch.mask[: kb + 1, b].eq(1).all() and batch.mask[kb + 1 :, b].eq(0).all()
        assert batch.inputs[b, 0, :, int(ends[b]) :].abs().sum() == 0  # zero padding


def test_lengths_vary_and_spans_follow_the_gaps():
    task = DigitRowTask()
    batch, spans = task.sample_with_spans(64, gen(1))
    assert set(batch.lengths.tolist()) == {3, 4, 5}
    for b, k in enumerate(batch.lengths.tolist()):
        starts = spans[b, :k, 0]
        assert 0 <= int(starts[0]) <= 2  # left margin
        gaps = starts[1:] - spans[b, : k - 1, 1]
        assert torch.all((gaps >= 0) & (gaps <= 2))
    gaps = spans[:, 1:2, 0] - spans[:, 0:1, 1]
    assert set(gaps.flatten().tolist()) == {0, 1, 2}


def test_targets_are_the_labels_of_the_training_images_under_each_span(digits):
    task = DigitRowTask()
    batch, spans = task.sample_with_spans(24, gen(2))
    check_episodes(task, batch, spans, digits, "train")
    # Vertical jitter places digits at several heights.
    tops = {
        int((batch.inputs[b, 0, :, s:e].abs().sum(1) > 0).nonzero()[0])
        for b in range(24)
        for s, e in spans[b, : int(batch.lengths[b])].tolist()
    }
    assert len(tops) > 1


def test_evaluation_draws_from_the_test_pool_with_the_same_layout(digits):
    task = DigitRowTask()
    held_out, held_out_spans = task.sample_with_spans(24, gen(3), pool="test")
    check_episodes(task, held_out, held_out_spans, digits, "test")
    # sample_evaluation is that draw without the spans; sample is the training-pool draw.
    evaluation = task.sample_evaluation(24, gen(3))
    training, training_spans = task.sample_with_spans(24, gen(3))
    assert torch.equal(evaluation.inputs, held_out.inputs)
    assert torch.equal(evaluation.targets, held_out.targets)
    assert torch.equal(training_spans, held_out_spans)
    assert torch.equal(training.lengths, held_out.lengths)
    assert not torch.equal(training.inputs, held_out.inputs)
    assert torch.equal(task.sample(24, gen(3)).inputs, training.inputs)


def test_pools_are_disjoint_and_split_every_fifth_image(digits):
    _, labels = digits
    task = DigitRowTask()
    train, test = set(task.pool_indices("train").tolist()), set(task.pool_indices("test").tolist())
    assert not train & test and train | test == set(range(len(labels)))
    assert test == set(range(0, len(labels), 5)) and len(labels) == 1797
    reduced = DigitRowTask(DigitRowConfig(classes=3, held_out_every=4))
    for pool in ("train", "test"):
        indices = reduced.pool_indices(pool)
        assert torch.all(labels[indices] < 3)
        assert torch.all((indices % 4 == 0) == (pool == "test"))
    with pytest.raises(ValueError, match="pool must be one of"):
        task.pool_indices("validation")


def test_reduced_digit_set_and_no_jitter():
    task = DigitRowTask(DigitRowConfig(2, 2, classes=3, max_gap=0, vertical_jitter=0))
    batch, spans = task.sample_with_spans(40, gen(4))
    assert batch.inputs.shape == (40, 1, 8, 16)
    assert torch.all(spans == torch.tensor([[0, 8], [8, 16]]))
    real = batch.mask[:2].bool()
    assert set(batch.targets[:2][real].tolist()) == {3, 4, 5}


def test_seeding_is_reproducible_and_leaves_the_global_rng_alone():
    task = DigitRowTask()
    state = torch.get_rng_state()
    a, spans_a = task.sample_with_spans(8, gen(5))
    b, spans_b = task.sample_with_spans(8, gen(5))
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(x, y) for x, y in zip(a[:4], b[:4], strict=True))
    assert torch.equal(spans_a, spans_b)
    c = task.sample(8, gen(6))
    assert not torch.equal(a.targets, c.targets) or not torch.equal(a.inputs, c.inputs)


@pytest.mark.parametrize("length", [1, 7])
def test_length_fixes_the_number_of_digits_beyond_training(length, digits):
    task = DigitRowTask()
    batch, spans = task.sample_with_spans(4, gen(7), length=length)
    assert torch.all(batch.lengths == length)
    assert batch.targets.shape == (length + 1, 4) and batch.mask.eq(1).all()
    assert spans.shape == (4, length, 2)
    widest = int(spans[:, -1, 1].max())
    assert batch.inputs.shape[3] == max(widest, task.canvas_width) >= DIGIT_SIZE * length
    check_episodes(task, batch, spans, digits, "train")


def test_metrics_come_from_seq2seq():
    task = DigitRowTask()
    batch = task.sample(16, gen(8))
    perfect = F.one_hot(batch.targets, task.output_size).float() * 30
    metrics = task.metrics(perfect, batch)
    assert metrics["exact_match"] == 1.0 and metrics["sequence_error_rate"] == 0.0
    wrong = perfect.clone()
    wrong[0, 0] = F.one_hot(torch.tensor(EOS), task.output_size).float() * 30
    assert task.metrics(wrong, batch)["exact_match"] == pytest.approx(15 / 16)
    assert task.loss(perfect, batch) < 1e-6


def test_render_draws_the_image_and_the_digits():
    task = DigitRowTask()
    batch = task.sample(2, gen(9), length=3)
    text = task.render(batch, 1)
    lines = text.splitlines()
    assert lines[0] == "digit_row, 3 digits"
    assert len(lines) == 1 + DIGIT_SIZE + 2 + 1 and "#" in text
    assert all(len(line) == 2 + batch.inputs.shape[3] for line in lines[1:-1])
    digits = "".join(str(int(t) - SPECIALS) for t in batch.targets[:3, 1])
    assert lines[-1] == f"target: {digits}"
    logits = F.one_hot(batch.targets, task.output_size).float()
    assert task.render(batch, 1, logits).splitlines()[-1] == f"output: {digits}"


def test_text_entry_points_are_refused_clearly():
    task = DigitRowTask()
    with pytest.raises(ValueError, match="reads images, not text"):
        task.encode_source("123")
    with pytest.raises(AttributeError, match="no source vocabulary"):
        task.source_vocab  # noqa: B018


@pytest.mark.parametrize(
    "config, message",
    [
        (dict(min_digits=0), "min_digits must be an integer >= 1"),
        (dict(min_digits=4, max_digits=3), "1 <= min_digits <= max_digits"),
        (dict(classes=1), r"classes must be an integer in \[2, 10\]"),
        (dict(classes=11), r"classes must be an integer in \[2, 10\]"),
        (dict(max_gap=-1), "max_gap must be an integer >= 0"),
        (dict(vertical_jitter=-1), "vertical_jitter must be an integer >= 0"),
        (dict(held_out_every=1), "held_out_every must be an integer >= 2"),
    ],
)
def test_bad_settings_are_refused(config, message):
    with pytest.raises(ValueError, match=message):
        DigitRowTask(DigitRowConfig(**config))


def test_bad_sample_arguments_are_refused():
    task = DigitRowTask()
    with pytest.raises(ValueError, match="number of digits must be >= 1"):
        task.sample(2, gen(0), length=0)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        task.sample_evaluation(0, gen(0))
    with pytest.raises(ValueError, match="pool must be one of"):
        task.sample_with_spans(2, gen(0), pool="dev")


def test_missing_scikit_learn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    digit_row_module._digits.cache_clear()
    try:
        with pytest.raises(ImportError, match=r"pip install 'augrnn\[images\]'"):
            DigitRowTask().sample(1, gen(0))
    finally:
        digit_row_module._digits.cache_clear()
