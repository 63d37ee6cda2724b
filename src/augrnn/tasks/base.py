"""What every task provides: a seeded generator, its loss, its metrics and a text rendering.

Sequences are time-major: ``inputs`` is ``(T, B, input_size)``. Sequences of different lengths
share a batch by padding; ``mask`` marks the time steps whose targets count, so padding never
reaches the loss or the metrics.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from augrnn.settings import Range, check_integers, check_settings

LN2 = math.log(2.0)


class Batch(NamedTuple):
    """One batch of episodes.

    inputs:  (T, B, input_size) float tensor.
    targets: (T, B, output_size) float tensor of 0/1 bits for bit tasks; (T, B, G) long tensor of
             class indices for a :class:`ClassificationTask` with G softmax groups.
    mask:    (T, B) float tensor, 1 where the target at that step is scored, else 0.
    lengths: (B,) long tensor, the task's size parameter of each episode (e.g. the copy length).
    input_mask: (T, B) float tensor, 1 on the steps that belong to the episode (not padding); None
             when every step does. Per-step costs of a model (ACT's ponder cost) count only there.
    """

    inputs: Tensor
    targets: Tensor
    mask: Tensor
    lengths: Tensor
    input_mask: Tensor | None = None

    def steps_mask(self) -> Tensor:
        """``input_mask``, or all ones (T, B) when the batch has no padding."""
        if self.input_mask is not None:
            return self.input_mask
        return torch.ones(self.inputs.shape[:2], dtype=self.inputs.dtype, device=self.inputs.device)

    def to(self, device: torch.device | str) -> Batch:
        return Batch(*(None if t is None else t.to(device) for t in self))

    def repeat(self, copies: int) -> Batch:
        """The batch ``copies`` times along the batch dimension (copy-major: copy k of episode b
        is at index k * B + b)."""

        def tile(t: Tensor | None, dim: int) -> Tensor | None:
            if t is None:
                return None
            reps = [1] * t.dim()
            reps[dim] = copies
            return t.repeat(*reps)

        return Batch(
            tile(self.inputs, 1),
            tile(self.targets, 1),
            tile(self.mask, 1),
            tile(self.lengths, 0),
            tile(self.input_mask, 1),
        )


@dataclass
class TaskConfig:
    """Base of every task's settings; each task subclasses it with its own fields, and gives
    each numeric one its valid range in ``RANGES`` (:mod:`augrnn.settings`), checked when the
    config is made (a subclass with a ``__post_init__`` of its own calls this one)."""

    RANGES: ClassVar[dict[str, Range]] = {}

    def __post_init__(self) -> None:
        check_settings(self)


class Task(ABC):
    """A task: episode generator plus its loss, metrics and rendering.

    Subclasses set ``name``, ``config_class``, ``input_size`` and ``output_size``; ``length_name``
    says what the ``length`` argument of :meth:`sample` fixes (used by length-generalisation
    evaluation), and ``train_lengths`` gives the (min, max) range drawn in training.
    ``io_kind`` says what the episodes are, for the views that draw them: "bits" (0/1 target
    vectors, sigmoid outputs), "classes" (:class:`ClassificationTask`), "tokens" (token ids,
    :class:`~augrnn.tasks.text.Seq2SeqTask`) or "table" (a question about a table). A task may
    override the optional hooks below (held-out data, metric weights, how viz shows an episode).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    config_class: ClassVar[type[TaskConfig]]
    length_name: ClassVar[str] = "length"
    headline_metric: ClassVar[str] = "cost_bits"
    io_kind: ClassVar[str] = "bits"

    def __init__(self, config: TaskConfig | None = None):
        self.config = config if config is not None else self.config_class()

    @property
    @abstractmethod
    def input_size(self) -> int: ...

    @property
    @abstractmethod
    def output_size(self) -> int: ...

    @property
    @abstractmethod
    def train_lengths(self) -> tuple[int, int]: ...

    @abstractmethod
    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        """Draw ``batch_size`` episodes; ``length`` fixes the size parameter for every episode."""

    def loss_per_step(self, logits: Tensor, batch: Batch) -> Tensor:
        """The cost of each scored step in nats, zero elsewhere: (T, B, K) logits -> (T, B)."""
        return masked_bce_per_step(logits, batch)

    def loss(self, logits: Tensor, batch: Batch) -> Tensor:
        """Training loss: the mean over the batch of each sequence's summed cost, in nats."""
        return self.loss_per_step(logits, batch).sum(0).mean()

    @torch.no_grad()
    def metrics(self, logits: Tensor, batch: Batch) -> dict[str, float]:
        """``cost_bits`` (bits per sequence) and ``bit_errors`` (per sequence), averaged over the
        batch; ``bit_error_rate``, the fraction of scored bits that are wrong; and
        ``sequence_accuracy``, the fraction of episodes without a single wrong bit."""
        errors = bit_errors_per_sequence(logits, batch)
        scored_bits = batch.mask.sum() * batch.targets.shape[-1]
        return {
            "cost_bits": (masked_bce_per_sequence(logits, batch) / LN2).mean().item(),
            "bit_errors": errors.mean().item(),
            "bit_error_rate": (errors.sum() / scored_bits.clamp_min(1)).item(),
            "sequence_accuracy": (errors == 0).float().mean().item(),
        }

    @abstractmethod
    def render(self, batch: Batch, index: int = 0, logits: Tensor | None = None) -> str:
        """A text picture of episode ``index``: inputs, targets and, if given, the predictions."""

    # --- optional hooks ----------------------------------------------------------------------

    def sample_evaluation(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        """Held-out episodes: as :meth:`sample` draws them, unless the task keeps data apart for
        evaluation (images of handwriting never seen in training)."""
        return self.sample(batch_size, generator, length=length)

    def metric_weights(self, batch: Any, outputs: Any) -> dict[str, float]:
        """For the metrics that cover only some episodes of ``batch`` (a per-type accuracy),
        how many they cover, so that evaluation averages them over those (0: none, the metric
        is left out); every other metric covers the whole batch."""
        return {}

    def example(self, batch: Any, index: int) -> tuple[Any, int]:
        """Episode ``index`` of ``batch`` as ``augrnn viz`` runs and draws it, and its index
        there: by default the episode alone, its trailing padding cut off."""
        return single_example(batch, index, text_like=self.io_kind == "tokens"), 0

    def describe_example(self, batch: Any, index: int, outputs: Any) -> list[str]:
        """Lines that ``augrnn viz`` prints about episode ``index`` (a question and its answer);
        none by default."""
        return []

    def showcase(self, generator: torch.Generator) -> str:
        """What ``augrnn tasks`` shows of the task: by default one episode, rendered."""
        low, high = self.train_lengths
        batch = self.sample(1, generator, length=min(high, max(low, 4)))
        return self.render(batch, 0)

    def sizes_text(self) -> str:
        """What goes in and out, for ``augrnn tasks``."""
        return f"input width {self.input_size}, output width {self.output_size}"


def single_example(batch: Batch, index: int, text_like: bool) -> Batch:
    """Episode ``index`` of ``batch`` as a batch of one, with its trailing padding cut off (for
    ``text_like`` batches the source and the targets separately)."""
    pick = slice(index, index + 1)
    inputs = batch.inputs[pick] if batch.inputs.dim() == 4 else batch.inputs[:, pick]
    targets, mask = batch.targets[:, pick], batch.mask[:, pick]
    input_mask = None if batch.input_mask is None else batch.input_mask[:, pick]
    if text_like:
        if input_mask is not None and inputs.dim() == 2:
            keep = _last_nonzero(input_mask)
            inputs, input_mask = inputs[:keep], input_mask[:keep]
        keep = _last_nonzero(mask)
        targets, mask = targets[:keep], mask[:keep]
    elif input_mask is not None:
        keep = _last_nonzero(input_mask)
        inputs, targets, mask, input_mask = (t[:keep] for t in (inputs, targets, mask, input_mask))
    return Batch(inputs, targets, mask, batch.lengths[pick], input_mask)


def _last_nonzero(mask: Tensor) -> int:
    rows = torch.nonzero(mask.reshape(mask.shape[0], -1).any(-1)).flatten()
    return int(rows[-1]) + 1 if len(rows) else mask.shape[0]


class ClassificationTask(Task):
    """A task whose target at each scored step is ``groups`` independent classes out of
    ``classes`` (e.g. the 6 digits of a running sum, each one of 11 symbols).

    Logits are (T, B, groups * classes), read as ``groups`` softmaxes of ``classes``; targets are
    (T, B, groups) long class indices. A step is right when every group's argmax is its target;
    the headline metric is the sequence error rate (ACT paper §3): the fraction of episodes with
    at least one wrong scored step.
    """

    headline_metric = "sequence_error_rate"
    io_kind = "classes"

    @property
    @abstractmethod
    def groups(self) -> int: ...

    @property
    @abstractmethod
    def classes(self) -> int: ...

    @property
    def output_size(self) -> int:
        return self.groups * self.classes

    def _grouped(self, logits: Tensor, batch: Batch) -> Tensor:
        expected = (*batch.targets.shape[:2], self.output_size)
        if logits.shape != expected:
            raise ValueError(
                f"model output has shape {tuple(logits.shape)}, expected {expected} "
                f"(time, batch, {self.groups} groups x {self.classes} classes)"
            )
        return logits.reshape(*expected[:2], self.groups, self.classes)

    def loss_per_step(self, logits: Tensor, batch: Batch) -> Tensor:
        grouped = self._grouped(logits, batch)
        nats = F.cross_entropy(
            grouped.reshape(-1, self.classes), batch.targets.reshape(-1), reduction="none"
        )
        return nats.reshape(batch.targets.shape).sum(-1) * batch.mask

    @torch.no_grad()
    def metrics(self, logits: Tensor, batch: Batch) -> dict[str, float]:
        """``cost_bits`` (cross-entropy per sequence in bits), ``step_error_rate`` (scored steps
        with any wrong class) and ``sequence_error_rate``."""
        wrong_steps = (self._grouped(logits, batch).argmax(-1) != batch.targets).any(-1)
        wrong_steps = wrong_steps.to(batch.mask.dtype) * batch.mask
        return {
            "cost_bits": (self.loss_per_step(logits, batch).sum(0) / LN2).mean().item(),
            "step_error_rate": (wrong_steps.sum() / batch.mask.sum().clamp_min(1)).item(),
            "sequence_error_rate": (wrong_steps.sum(0) > 0).float().mean().item(),
        }


def masked_bce_per_step(logits: Tensor, batch: Batch) -> Tensor:
    """Binary cross-entropy summed over bits on scored steps: (T, B, K) logits -> (T, B) nats."""
    _check_logits(logits, batch)
    per_bit = F.binary_cross_entropy_with_logits(logits, batch.targets, reduction="none")
    return per_bit.sum(-1) * batch.mask


def masked_bce_per_sequence(logits: Tensor, batch: Batch) -> Tensor:
    """Binary cross-entropy summed over bits and scored steps: (T, B, K) logits -> (B,) nats."""
    return masked_bce_per_step(logits, batch).sum(0)


def bit_errors_per_sequence(logits: Tensor, batch: Batch) -> Tensor:
    """Number of wrong bits (prediction = logit > 0) over scored steps: -> (B,)."""
    _check_logits(logits, batch)
    wrong = ((logits > 0).to(batch.targets.dtype) != batch.targets).to(logits.dtype)
    return (wrong.sum(-1) * batch.mask).sum(0)


def _check_logits(logits: Tensor, batch: Batch) -> None:
    if logits.shape != batch.targets.shape:
        raise ValueError(
            f"model output has shape {tuple(logits.shape)}, but the targets have shape "
            f"{tuple(batch.targets.shape)} (time, batch, output_size)"
        )


def random_bits(shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
    """Independent fair bits as a float tensor of ``shape``."""
    return torch.randint(0, 2, shape, generator=generator).float()


def episode_sizes(
    task: str,
    batch_size: int,
    low: int,
    high: int,
    generator: torch.Generator,
    fixed: int | None = None,
    *,
    name: str = "length",
    minimum: int = 1,
) -> Tensor:
    """A (batch_size,) long tensor of per-episode sizes (a length, a repeat count, a number of
    items): uniform over [low, high], or all equal to ``fixed`` when it is given.

    Raises ``ValueError`` naming ``task`` for a batch size below 1 or a ``fixed`` below
    ``minimum``.
    """
    check_integers(task, batch_size=batch_size, **{name: fixed})
    if batch_size < 1:
        raise ValueError(f"{task} batch_size must be >= 1, got {batch_size}")
    if fixed is None:
        return torch.randint(low, high + 1, (batch_size,), generator=generator)
    if fixed < minimum:
        raise ValueError(f"{task} {name} must be >= {minimum}, got {fixed}")
    return torch.full((batch_size,), fixed, dtype=torch.long)


def render_bits(rows: dict[str, Tensor]) -> str:
    """Draw named (T, K) 0/1 (or probability) grids as text, one line per channel, time across.

    Values >= 0.5 print as '#', below as '.', so a picture reads like the NTM paper's figures.
    """
    lines = []
    for label, grid in rows.items():
        lines.append(f"{label}:")
        for channel in range(grid.shape[1]):
            cells = "".join("#" if v >= 0.5 else "." for v in grid[:, channel].tolist())
            lines.append(f"  {cells}")
    return "\n".join(lines)
