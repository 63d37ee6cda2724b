"""The Neural Programmer's training step beside a plain LSTM that only reads the question.

A training step is forward + backward + Adam step on a fixed batch of the table task
(``augrnn.tasks.table_qa``; ``columns`` numeric columns, ``rows`` rows per table, the task's
templated questions: question ids (Q, B), tables (B, rows, columns)). The contenders:

- ``question_lstm``: the baseline, an embedding of ``embedding_size`` and ``nn.LSTM`` of
  ``hidden_size`` over the question, its last state read out linearly to a scalar answer and
  a lookup probability per column (the same for every row), with the task's own loss;
- ``programmer``: :class:`augrnn.programmer.model.NeuralProgrammer` of the same embedding and
  hidden sizes with ``program_steps`` steps, with the same loss.

So ``ratio_to_question_lstm`` is what the Neural Programmer's T steps of soft selection and
soft execution over the table (and its pivot attention) cost on top of reading the question with
a recurrent network of the same width; it is not a comparison of accuracy.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from augrnn.bench.common import (
    Options,
    Step,
    adam_step,
    environment,
    format_table,
    mib,
    peak_memory,
    time_alternating,
    with_defaults,
)
from augrnn.programmer.model import NeuralProgrammer
from augrnn.table_operations import ProgramOutputs
from augrnn.tasks.table_qa import TableBatch, TableQAConfig, TableQATask

NAME = "programmer"
DEFAULT_BATCH_SIZES = (1, 32)
CONTENDERS = ("question_lstm", "programmer")
SIZES = {"columns": 1, "rows": 100, "embedding_size": 64, "hidden_size": 128, "program_steps": 4}


class QuestionLSTM(nn.Module):
    """An LSTM over the question's embeddings; answers from its state after the last word."""

    def __init__(self, vocab_size: int, columns: int, embedding_size: int, hidden_size: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=0)
        self.lstm = nn.LSTM(embedding_size, hidden_size)
        self.scalar = nn.Linear(hidden_size, 1)
        self.lookup = nn.Linear(hidden_size, columns)

    def loss(self, task: TableQATask, batch: TableBatch) -> tuple[torch.Tensor, torch.Tensor]:
        states, _ = self.lstm(self.embedding(batch.question))  # (Q, B, H)
        last = (batch.question_lengths - 1).clamp_min(0)
        q = states[last, torch.arange(states.shape[1], device=states.device)]  # (B, H)
        rows = batch.table.shape[1]
        lookup = torch.sigmoid(self.lookup(q)).unsqueeze(1).expand(-1, rows, -1)
        loss = task.loss(ProgramOutputs(scalar=self.scalar(q).squeeze(-1), lookup=lookup), batch)
        return loss, loss


def build_step(
    contender: str,
    *,
    device: str,
    batch_size: int,
    columns: int,
    rows: int,
    embedding_size: int,
    hidden_size: int,
    program_steps: int,
) -> Step:
    """One training step of ``contender`` on a fixed seeded batch (the same for both)."""
    task = TableQATask(TableQAConfig(columns=columns, min_rows=rows, max_rows=rows))
    batch = task.sample(batch_size, torch.Generator().manual_seed(0)).to(device)
    torch.manual_seed(0)
    if contender == "programmer":
        model: nn.Module = NeuralProgrammer(
            task.input_size,
            columns,
            embedding_size=embedding_size,
            hidden_size=hidden_size,
            steps=program_steps,
        )
    elif contender == "question_lstm":
        model = QuestionLSTM(task.input_size, columns, embedding_size, hidden_size)
    else:
        raise ValueError(f"unknown programmer contender {contender!r}; choose from {CONTENDERS}")
    model.to(device).train()
    return adam_step(lambda: model.loss(task, batch)[0], model.parameters(), 1e-3)


def run(options: Options, **sizes: Any) -> dict[str, Any]:
    """Time both contenders at each batch size; ``sizes`` override :data:`SIZES`."""
    sizes = with_defaults(NAME, SIZES, sizes)
    results = []
    for batch_size in options.sizes(DEFAULT_BATCH_SIZES):
        params = {"batch_size": batch_size, **sizes}
        steps = {c: build_step(c, device=options.device, **params) for c in CONTENDERS}
        medians = time_alternating(
            steps, options.repeats, options.warmup, options.device, options.min_time
        )
        for contender in CONTENDERS:
            seconds = medians[contender]
            results.append(
                {
                    "batch_size": batch_size,
                    "contender": contender,
                    "step_s": seconds,
                    "sequences_per_s": batch_size / seconds,
                    "ratio_to_question_lstm": seconds / medians["question_lstm"],
                    "peak_memory_bytes": peak_memory(NAME, contender, params, options),
                }
            )
    return {
        "benchmark": NAME,
        "measures": "table QA training step (forward + backward + Adam) against a question LSTM",
        **environment(options),
        **sizes,
        "results": results,
    }


def table(report: dict[str, Any]) -> str:
    return format_table(
        [
            ("batch", lambda r: str(r["batch_size"])),
            ("contender", lambda r: r["contender"]),
            ("step ms", lambda r: f"{1e3 * r['step_s']:.2f}"),
            ("seq/s", lambda r: f"{r['sequences_per_s']:.1f}"),
            ("x question LSTM", lambda r: f"{r['ratio_to_question_lstm']:.2f}x"),
            ("peak MiB", lambda r: mib(r["peak_memory_bytes"])),
        ],
        report["results"],
    )
