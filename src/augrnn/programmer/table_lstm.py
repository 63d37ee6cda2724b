"""A baseline for the table task: one LSTM reads the question, then the table cell by cell.

The Neural Programmer paper (§4) compares with recurrent and attentional models that read the
question and the table as one sequence; this is the plain LSTM version. Each input step is one
token: a question word (its embedding, and for a NUMBER token its value), or a table cell, row
by row (its value for a numeric cell or its word's embedding for a text cell, and a one-hot of
its column). Values enter scaled by 1 / ``value_scale``. From the last state h:

    scalar      = value_scale · w_s · h                       (the scalar answer)
    lookup[i, j] = σ(w_l · tanh(W [h; x_ij]))                 (each numeric cell's probability)

where x_ij is cell (i, j)'s input vector; both are trained with the task's loss (Huber and the
λ-weighted log loss), as the Neural Programmer is.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from augrnn.core import Trace
from augrnn.interface import Model, ModelConfig
from augrnn.programmer.model import TableBatch
from augrnn.settings import Range, above, at_least
from augrnn.table_operations import ProgramOutputs


class TableLSTM(Model):
    """An LSTM over question words then table cells; ``columns`` counts every table column
    (numeric, then text) and ``vocab_size`` the word ids. It traces nothing."""

    def __init__(
        self,
        vocab_size: int,
        columns: int,
        embedding_size: int = 64,
        hidden_size: int = 128,
        value_scale: float = 100.0,
    ):
        super().__init__()
        self.columns = columns
        self.value_scale = value_scale
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=0)
        # Input: word embedding, value, "is a cell" flag, column one-hot.
        self.input_size = embedding_size + 2 + columns
        self.lstm = nn.LSTM(self.input_size, hidden_size)
        self.scalar_head = nn.Linear(hidden_size, 1)
        self.cell_hidden = nn.Linear(hidden_size + self.input_size, hidden_size)
        self.cell_score = nn.Linear(hidden_size, 1)

    def _inputs(self, batch: TableBatch) -> tuple[Tensor, Tensor, Tensor]:
        """The question's inputs (Q, B, I), the cells' (B, R, C + K, I) and the row mask
        (B, R)."""
        words = self.embedding(batch.question)  # (Q, B, E)
        q, b = batch.question.shape
        values = words.new_zeros(b, q)
        # Padding numbers add 0 at position 0.
        values.scatter_add_(1, batch.number_positions, batch.question_numbers * batch.number_mask)
        scaled = values.T[..., None] / self.value_scale
        question = torch.cat([words, scaled, words.new_zeros(q, b, 1 + self.columns)], -1)
        numeric, text = batch.table.shape[-1], batch.text_table.shape[-1]
        if numeric + text != self.columns:
            raise ValueError(f"model built for {self.columns} columns, table has {numeric + text}")
        rows = batch.table.shape[1]
        cell_words = torch.cat(
            [
                words.new_zeros(b, rows, numeric, words.shape[-1]),
                self.embedding(batch.text_table),
            ],
            2,
        )
        cell_values = torch.cat(
            [batch.table / self.value_scale, words.new_zeros(b, rows, text)], -1
        )[..., None]
        column = torch.eye(self.columns, device=words.device, dtype=words.dtype)
        column = column.expand(b, rows, -1, -1)
        flag = words.new_ones(b, rows, self.columns, 1)
        cells = torch.cat([cell_words, cell_values, flag, column], -1)
        return question, cells, batch.row_mask

    def forward(self, batch: TableBatch) -> tuple[ProgramOutputs, dict[str, Any]]:
        """(scalar (B,), lookup (B, R, C)) from the LSTM's state after the question and every
        row of the table (padding rows are skipped by packing the sequences)."""
        question, cells, row_mask = self._inputs(batch)
        b, rows, width, size = cells.shape
        sequence = torch.cat([question, cells.reshape(b, rows * width, size).transpose(0, 1)], 0)
        lengths = batch.question.shape[0] + row_mask.sum(-1).long() * width
        packed = nn.utils.rnn.pack_padded_sequence(sequence, lengths.cpu(), enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        h = h[-1]  # (B, H)
        scalar = self.scalar_head(h).squeeze(-1) * self.value_scale
        numeric = batch.table.shape[-1]
        own = cells[:, :, :numeric]  # (B, R, C, I)
        joint = torch.cat([h[:, None, None, :].expand(-1, rows, numeric, -1), own], -1)
        lookup = torch.sigmoid(self.cell_score(torch.tanh(self.cell_hidden(joint))).squeeze(-1))
        lookup = lookup * row_mask[..., None]
        return ProgramOutputs(scalar=scalar, lookup=lookup), {}

    def loss(self, task: Any, batch: TableBatch) -> tuple[Tensor, Tensor]:
        """(total, task loss): the task's loss on the answers (the same here)."""
        task_loss = task.loss(self(batch)[0], batch)
        return task_loss, task_loss

    def evaluation_outputs(self, batch: TableBatch) -> ProgramOutputs:
        """The answers scored in evaluation."""
        return self(batch)[0]

    def traced(self, batch: TableBatch) -> tuple[ProgramOutputs, Trace]:
        return self.evaluation_outputs(batch), Trace()


@dataclass
class TableLSTMConfig(ModelConfig):
    """The table task's LSTM baseline (model kind ``table_lstm``): the keyword arguments of
    :class:`TableLSTM` with its defaults."""

    embedding_size: int = 64
    hidden_size: int = 128
    #: Values enter scaled by 1 / value_scale, and the scalar answer comes out scaled by it.
    value_scale: float = 100.0

    RANGES: ClassVar[dict[str, Range]] = {
        "embedding_size": at_least(1),
        "hidden_size": at_least(1),
        "value_scale": above(0),
    }


def build_table_lstm(config: TableLSTMConfig, input_size: int, output_size: int) -> TableLSTM:
    """The LSTM baseline over ``input_size`` word ids and tables of ``output_size`` columns."""
    return TableLSTM(input_size, output_size, **dataclasses.asdict(config))
