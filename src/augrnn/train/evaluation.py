"""Held-out evaluation: the fixed evaluation sets and the metrics of a model on them.

The trainer, ``augrnn eval`` and ``augrnn viz`` draw the same episodes: ``eval_sequences``
episodes from the run's evaluation seed (plus the length, when one is fixed), in batches of
``eval_batch_size``.
"""

from __future__ import annotations

import torch

from augrnn.core import collecting_step_terms
from augrnn.interface import Model
from augrnn.tasks.base import Batch, Task

#: Seed of the random choices a model makes in evaluation (PonderNet's sampled halting), so that
#: every evaluation of the same parameters gives the same figures.
EVAL_MODEL_SEED = 0


def evaluation_set(task: Task, config, length: int | None = None, seed: int | None = None) -> list:
    """The fixed held-out set of ``config`` (a run's :class:`~augrnn.train.config.Config`):
    ``eval_sequences`` episodes from the run's evaluation seed (or ``seed``: the validation
    set's), drawn with ``task.sample_evaluation`` (which keeps data apart for evaluation where a
    task has such, e.g. images of handwriting never seen in training)."""
    seed = config.train.eval_seed if seed is None else seed
    generator = torch.Generator().manual_seed(seed + (length or 0))
    remaining, batches = config.train.eval_sequences, []
    while remaining > 0:
        size = min(config.train.eval_batch_size, remaining)
        batches.append(task.sample_evaluation(size, generator, length=length))
        remaining -= size
    return batches


@torch.no_grad()
def evaluate(model: Model, task: Task, batches: list, device: str) -> dict[str, float]:
    """Task metrics averaged over every episode of ``batches`` (or over the episodes that
    ``task.metric_weights(batch, outputs)`` gives a metric), plus the mean per input step of
    every step term the model reports (e.g. ``ponder_steps``)."""
    was_training = model.training
    model.eval()
    totals: dict[str, float] = {}
    counts: dict[str, float] = {}
    devices = [torch.device(device)] if torch.device(device).type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(EVAL_MODEL_SEED)
        for batch in batches:
            batch = move_batch(batch, device)
            with collecting_step_terms() as terms:
                outputs = model.evaluation_outputs(batch)
            size = batch.mask.shape[1]
            metrics = {**task.metrics(outputs, batch), **terms.means(batch.steps_mask())}
            # A task may weigh a metric by the episodes it covers (a per-type accuracy by that
            # type's episodes) and leave out a metric a batch cannot measure.
            weights = task.metric_weights(batch, outputs)
            for name, value in metrics.items():
                weight = weights.get(name, size)
                totals[name] = totals.get(name, 0.0) + value * weight
                counts[name] = counts.get(name, 0.0) + weight
    model.train(was_training)
    return {name: total / counts[name] for name, total in totals.items()}


def move_batch(batch: Batch, device: str) -> Batch:
    return batch.to(device) if device != "cpu" else batch
