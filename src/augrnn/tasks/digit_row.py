"""Digit row: read a row of k handwritten digits from one image, then write them left to right.

The digits are scikit-learn's bundled 8×8 handwritten digits (``sklearn.datasets.load_digits``:
1,797 images of 0-9, pixel values 0..16, here scaled to [0, 1]; no download, but scikit-learn must
be installed: ``pip install 'augrnn[images]'``). The images are split once, by a fixed rule, into
two disjoint pools: image i is in the *test* pool when ``i % held_out_every == 0`` (every 5th
image, 360 of them) and in the *training* pool otherwise (1,437), so a held-out score is on
handwriting the model never saw.

Episode: k digits, k ~ U{min_digits..max_digits} = U{3..5}, drawn uniformly (with replacement)
from the pool's images of the first ``classes`` digits, placed left to right on a canvas of height
8 + ``vertical_jitter``: a left margin and a gap before each further digit of 0..``max_gap`` px,
each digit at its own random row offset 0..``vertical_jitter``. Digits never overlap, so the
canvas holds every image whole. Every canvas is :attr:`DigitRowTask.canvas_width` =
max_digits · (8 + max_gap) px wide (50), the widest row the training range can draw, and rows are
padded with zeros on the right; only rows longer than max_digits (``length`` beyond the training
range) widen their batch, to its widest episode. A fixed width keeps a row of k digits looking the
same in any batch: when a batch was only as wide as its widest row, a model trained on mixed
batches (nearly always holding a 5-digit row) read none of the rows of an all-3-digit batch
(30 px wide) exactly, but 76-87% of the same rows padded to 40-52 px.

Batch (note: the images are batch-first, unlike the time-major token tasks):

- ``inputs``: (B, 1, 8 + vertical_jitter, W) float in [0, 1], W = ``canvas_width`` (or wider);
- ``targets``: (k_max + 1, B) long, the digit symbols' ids then EOS, padded with PAD;
- ``mask``: (k_max + 1, B) float, 1 on the real target tokens (EOS included);
- ``lengths``: (B,) long, k; the ``length`` argument of :meth:`DigitRowTask.sample` fixes it,
  beyond ``max_digits`` too (longer rows than in training);
- ``input_mask``: None.

:meth:`DigitRowTask.sample` draws from the training pool, :meth:`DigitRowTask.sample_evaluation`
(which the trainer uses for its held-out set and ``augrnn eval``) from the test pool, and
:meth:`DigitRowTask.sample_with_spans` from either, also returning where each digit lies
(its pixel columns), for measuring where a model attends.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from augrnn.settings import Range, at_least, between
from augrnn.tasks.base import Batch, TaskConfig, episode_sizes
from augrnn.tasks.text import Seq2SeqTask, Vocabulary

#: Height and width of one digit image, in pixels.
DIGIT_SIZE = 8
POOLS = ("train", "test")
#: Pixels above these values draw as '#' and '+' in :meth:`DigitRowTask.render`, others as '.'.
RENDER_LEVELS = ((0.5, "#"), (0.2, "+"))


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[Tensor, Tensor]:
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:
        raise ImportError(
            "the digit_row task draws scikit-learn's bundled handwritten digits; install them "
            "with: pip install 'augrnn[images]'"
        ) from err
    data = load_digits()
    images = torch.tensor(data.images, dtype=torch.float32) / 16.0
    return images, torch.tensor(data.target, dtype=torch.long)


def digit_images() -> tuple[Tensor, Tensor]:
    """scikit-learn's 1,797 handwritten digits: (N, 8, 8) float images in [0, 1] and their (N,)
    long labels 0-9, in the dataset's order (the order the pools are split by). Copies: the
    cached originals are not exposed."""
    images, labels = _digits()
    return images.clone(), labels.clone()


@dataclass
class DigitRowConfig(TaskConfig):
    """Settings of :class:`DigitRowTask`: digits per row, the digit classes used (the first
    ``classes`` of 0-9), the placement noise and the train/test split of the images."""

    min_digits: int = 3
    max_digits: int = 5
    classes: int = 10
    #: Largest left margin and gap between neighbouring digits, in pixels.
    max_gap: int = 2
    #: Extra canvas rows; each digit sits 0..vertical_jitter rows down.
    vertical_jitter: int = 2
    #: Image i belongs to the test pool when i % held_out_every == 0, else to the training pool.
    held_out_every: int = 5

    RANGES: ClassVar[dict[str, Range]] = {
        "min_digits": at_least(1),
        "max_digits": at_least(1),
        "classes": between(2, 10),
        "max_gap": at_least(0),
        "vertical_jitter": at_least(0),
        "held_out_every": at_least(2),
    }


class DigitRowTask(Seq2SeqTask):
    name = "digit_row"
    description = "read a row of 3-5 handwritten 8x8 digits from one image and write them in order"
    config_class = DigitRowConfig
    config: DigitRowConfig
    length_name = "digits"

    def __init__(self, config: DigitRowConfig | None = None):
        super().__init__(config)
        c = self.config
        if not 1 <= c.min_digits <= c.max_digits:
            raise ValueError(f"digit_row needs 1 <= min_digits <= max_digits, got {c}")
        if not 2 <= c.classes <= 10:
            raise ValueError(f"digit_row needs 2 <= classes <= 10, got {c}")
        if c.max_gap < 0 or c.vertical_jitter < 0:
            raise ValueError(f"digit_row needs max_gap >= 0 and vertical_jitter >= 0, got {c}")
        if c.held_out_every < 2:
            raise ValueError(
                f"digit_row needs held_out_every >= 2 (every n-th image is held out), got {c}"
            )
        self._vocab = Vocabulary([str(d) for d in range(c.classes)])

    # --- sizes and vocabularies -------------------------------------------------------------

    @property
    def source_vocab(self) -> Vocabulary:
        raise AttributeError("digit_row reads images, not text: it has no source vocabulary")

    @property
    def target_vocab(self) -> Vocabulary:
        return self._vocab

    @property
    def input_size(self) -> int:
        """Channels of the input images (1, grey)."""
        return 1

    def sizes_text(self) -> str:
        return f"images in, a vocabulary of {self.output_size} target tokens"

    @property
    def image_height(self) -> int:
        return DIGIT_SIZE + self.config.vertical_jitter

    @property
    def canvas_width(self) -> int:
        """The width of every canvas of up to max_digits digits: max_digits · (8 + max_gap)."""
        return self.config.max_digits * (DIGIT_SIZE + self.config.max_gap)

    @property
    def train_lengths(self) -> tuple[int, int]:
        return (self.config.min_digits, self.config.max_digits)

    def encode_source(self, text: str) -> Tensor:
        raise ValueError(
            "digit_row reads images, not text; draw rows with DigitRowTask.sample and read them "
            "with ShowAttendTell.decode"
        )

    def describe_size(self, size: int) -> str:
        return f"{size} digit" + ("" if size == 1 else "s")

    # --- pools and sampling -----------------------------------------------------------------

    def pool_indices(self, pool: str = "train") -> Tensor:
        """Indices into :func:`digit_images` of the pool's images of the first ``classes``
        digits: "test" holds the images i with i % held_out_every == 0, "train" the others."""
        if pool not in POOLS:
            raise ValueError(f"digit_row pool must be one of {POOLS}, got {pool!r}")
        _, labels = _digits()
        index = torch.arange(len(labels))
        held_out = index % self.config.held_out_every == 0
        keep = (held_out if pool == "test" else ~held_out) & (labels < self.config.classes)
        return index[keep]

    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        """Draw episodes from the training pool; ``length`` fixes the number of digits k."""
        return self.sample_with_spans(batch_size, generator, length, pool="train")[0]

    def sample_evaluation(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        """Draw episodes from the test pool (handwriting never used in training), otherwise as
        :meth:`sample`: the same generator state gives the same k, placements and draws."""
        return self.sample_with_spans(batch_size, generator, length, pool="test")[0]

    def sample_with_spans(
        self,
        batch_size: int,
        generator: torch.Generator,
        length: int | None = None,
        pool: str = "train",
    ) -> tuple[Batch, Tensor]:
        """Draw episodes from ``pool`` ("train" or "test"), and where each digit lies.

        Returns the batch (see the module) and spans (B, k_max, 2) long: the pixel columns
        [start, end) of digit j of episode b at ``spans[b, j]``, -1 for j >= k.
        """
        c = self.config
        counts = episode_sizes(
            self.name, batch_size, c.min_digits, c.max_digits, generator, length,
            name="number of digits",
        )  # fmt: skip
        indices = self.pool_indices(pool)
        images, labels = _digits()
        k_max = int(counts.max())
        # Every draw has a fixed shape, so the generator advances the same for any k.
        chosen = indices[torch.randint(0, len(indices), (batch_size, k_max), generator=generator)]
        gaps = torch.randint(0, c.max_gap + 1, (batch_size, k_max), generator=generator)
        rows = torch.randint(0, c.vertical_jitter + 1, (batch_size, k_max), generator=generator)
        starts = gaps.cumsum(1) + DIGIT_SIZE * torch.arange(k_max)  # gaps[:, 0]: left margin
        real = torch.arange(k_max) < counts.unsqueeze(1)  # (B, k_max)
        widths = starts.gather(1, (counts - 1).unsqueeze(1)).squeeze(1) + DIGIT_SIZE
        width = max(self.canvas_width, int(widths.max()))
        canvas = torch.zeros(batch_size, 1, self.image_height, width)
        for b, k in enumerate(counts.tolist()):
            for j in range(k):
                top, left = int(rows[b, j]), int(starts[b, j])
                canvas[b, 0, top : top + DIGIT_SIZE, left : left + DIGIT_SIZE] = images[
                    chosen[b, j]
                ]
        spans = torch.stack([starts, starts + DIGIT_SIZE], -1).masked_fill(~real.unsqueeze(-1), -1)
        steps = torch.arange(k_max + 1).unsqueeze(1)  # (k_max + 1, 1)
        symbols = torch.cat(
            [labels[chosen].T + Vocabulary.SPECIALS, torch.zeros(1, batch_size, dtype=torch.long)]
        )
        targets = torch.where(steps < counts, symbols, Vocabulary.PAD)
        targets = targets.masked_fill(steps == counts, Vocabulary.EOS)
        mask = (steps <= counts).float()
        return Batch(canvas, targets, mask, counts, None), spans

    # --- rendering --------------------------------------------------------------------------

    def render(self, batch: Batch, index: int = 0, logits: Tensor | None = None) -> str:
        """The image as text ('#' above 0.5, '+' above 0.2, '.' otherwise), then the target
        digits and, with ``logits``, the greedy output."""
        lines = [f"{self.name}, {self.describe_size(int(batch.lengths[index]))}"]
        for row in batch.inputs[index, 0].tolist():
            lines.append("  " + "".join(_shade(v) for v in row))
        lines.append(f"target: {self.decode_target(batch.targets[:, index])}")
        if logits is not None:
            lines.append(f"output: {self.decode_target(logits[:, index].argmax(-1))}")
        return "\n".join(lines)


def _shade(value: float) -> str:
    for level, mark in RENDER_LEVELS:
        if value > level:
            return mark
    return "."
