"""What the memory networks share: a model that answers a question about a story batch
(:class:`~augrnn.tasks.babi.task.StoryBatch`), scored by the task at the question's step."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from augrnn.core import Trace
from augrnn.interface import EvaluationContext, Model


def story_and_question(batch: Any, vocabulary: int, kind: str) -> tuple[Tensor, Tensor]:
    """The batch's ``story`` (B, S, W) and ``question`` (B, W) word ids, checked: a batch
    without them, or with a word id outside ``vocabulary``, is an error naming ``kind``."""
    story, question = getattr(batch, "story", None), getattr(batch, "question", None)
    if story is None or question is None:
        raise ValueError(
            f"{kind} reads stories: it needs a task whose batches hold a story and a question "
            f"(e.g. babi), got a {type(batch).__name__}"
        )
    if int(story.max()) >= vocabulary or int(question.max()) >= vocabulary:
        raise ValueError(f"word ids must be below the model's vocabulary of {vocabulary}")
    return story, question


class StoryModel(Model):
    """A model whose ``forward(batch, trace=None)`` gives answer logits (B, answers) and, when
    a Trace is given, records ``memory_attention`` (B, S) over the statements once per hop or
    pass (a step of the Trace each)."""

    def as_steps(self, logits: Tensor, batch: Any) -> Tensor:
        """The answer logits at the question's step of the batch's sequence form (T, B, K),
        which the task scores."""
        return batch.mask.unsqueeze(-1).to(logits.dtype) * logits.unsqueeze(0)

    def loss(self, task: Any, batch: Any) -> tuple[Tensor, Tensor]:
        """(the task's loss, the same): the answer's cross-entropy."""
        task_loss = task.loss(self.as_steps(self(batch), batch), batch)
        return task_loss, task_loss

    def evaluation_outputs(self, batch: Any) -> Tensor:
        return self.as_steps(self(batch), batch)

    def traced(self, batch: Any) -> tuple[Tensor, Trace]:
        """The outputs and a Trace of ``memory_attention`` (B, S), one step per hop or pass."""
        trace = Trace()
        logits = self(batch, trace=trace)
        return self.as_steps(logits, batch), trace

    @torch.no_grad()
    def extra_metrics(self, task: Any, context: EvaluationContext) -> dict[str, float]:
        """``support_attended``: over the held-out questions that have supporting statements and
        over the hops (or passes), the share whose most-attended statement is a supporting one
        (none when no batch marks supports)."""
        hits, total = 0.0, 0.0
        for batch in context.batches:
            supports = getattr(batch, "supports", None)
            if supports is None:
                return {}
            _, trace = self.traced(batch)
            attention = trace.stack("memory_attention")  # (K, B, S)
            most = attention.argmax(-1)  # (K, B)
            marked = supports.to(most.device).gather(1, most.T).T > 0  # (K, B)
            has = supports.sum(-1) > 0  # (B,)
            hits += float(marked[:, has].sum())
            total += float(has.sum()) * attention.shape[0]
        return {"support_attended": hits / total} if total else {}
