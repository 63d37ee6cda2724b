"""Question answering over a numeric table, the Neural Programmer's synthetic task.

Neelakantan, Le & Sutskever (2015), arXiv 1511.04834, §4: a table of 30–100 rows and ``columns``
numeric columns with integer entries in [−100, 100] for training and [−200, 200] for evaluation
(:meth:`TableQATask.sample_evaluation`), and a question drawn from templates. Each template
carries the program that answers it (one operation and one column per step, ``PROGRAM_STEPS``
steps, in the operation set of :mod:`augrnn.table_operations`); the answer is computed
directly from the table, and the tests execute the programs to check it. The paper's other
settings are options: ``word_variability`` draws each question's phrasing among several, and
``text_columns`` adds columns of words (color, city, brand) with questions that name one of
their words, answered with ``text_match``.

Each template also has held-out phrasings, never drawn in training: the same question reworded
("how many rows with price more than NUMBER", "which price is the smallest", "print the total
of price"), mostly known words in new orders. ``phrasings = "heldout"`` asks every question in
one of them, to measure whether a model answers the question or only its trained wording. They
add no word to the vocabulary, so the word ids of earlier runs are unchanged.

Numbers in a question are replaced by the ``NUMBER`` token and kept, with their positions, in
``question_numbers`` and ``number_positions``. Answers are scalars (sums, counts, differences) or
lookups (the greatest or least entry of a column, among all rows or the rows holding a word: a
0/1 (rows, columns) matrix marking every cell that holds it). The loss is the paper's: Huber
(δ) on scalar answers and the mean binary log loss over the lookup matrix on lookup answers,
weighted by λ.
"""

from __future__ import annotations

import csv
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, NamedTuple

import torch
from torch import Tensor

from augrnn.settings import Range, above, at_least, between, check_integers
from augrnn.table_operations import OPERATIONS, ProgramOutputs, run_program, text_matches
from augrnn.tasks.base import Task, TaskConfig
from augrnn.tasks.text import Vocabulary

#: Length T of every program (the paper's T = 4).
PROGRAM_STEPS = 4
COLUMN_NAMES = ("price", "qty", "weight", "score", "age", "rank", "height", "cost")
#: Text columns, in order, and the words their entries are drawn from.
TEXT_COLUMNS = {
    "color": ("red", "green", "blue", "white", "black", "yellow"),
    "city": ("paris", "rome", "oslo", "lima", "cairo", "delhi"),
    "brand": ("acme", "zenith", "nova", "apex", "orbit", "vertex"),
}
#: Every text column holds as many words, so that one call draws a table's cells.
WORDS_PER_TEXT_COLUMN = 6
NUMBER = "NUMBER"
#: The operations whose column choice matters.
OP_PRINT = OPERATIONS.index("print")
COLUMN_OPERATIONS = ("sum", "greater", "lesser", "max", "min", "print", "text_match")


class Template(NamedTuple):
    """A question type: its training phrasings (the first is the only one without word
    variability), with {a}, {b} for numeric column names, {t} for a text column's name, {w}
    for one of its words and NUMBER for numbers; its held-out phrasings, the same question
    reworded (other verbs, "rows with ...", "which ... is the ..."), never drawn in training
    and disjoint from the training ones; the program's steps as (operation, column key), a key
    being "a", "b", "t" or None (column 0); and whether the answer is a lookup."""

    phrasings: tuple[str, ...]
    heldout: tuple[str, ...]
    program: tuple[tuple[str, str | None], ...]
    lookup: bool = False

    @property
    def needs_text(self) -> bool:
        return "{t}" in self.phrasings[0]


_RESET = ("reset", None)
TEMPLATES: dict[str, Template] = {
    "sum": Template(
        (
            "what is the sum of {a}",
            "sum of {a}",
            "what is the total of {a}",
            "add up all {a}",
        ),
        (
            "print the total of {a}",
            "what is the total {a}",
            "the sum of all {a}",
        ),
        (_RESET, _RESET, _RESET, ("sum", "a")),
    ),
    "count": Template(
        (
            "how many rows are there",
            "count the rows",
            "what is the number of rows",
            "how many entries are there",
        ),
        (
            "print the number of rows",
            "count all the entries",
            "what is the count of rows",
        ),
        (_RESET, _RESET, _RESET, ("count", None)),
    ),
    "count_greater": Template(
        (
            "how many {a} are greater than NUMBER",
            "count {a} greater than NUMBER",
            "how many {a} are more than NUMBER",
            "how many {a} are above NUMBER",
        ),
        (
            "how many rows with {a} more than NUMBER",
            "count the rows where {a} is above NUMBER",
            "what is the number of {a} greater than NUMBER",
        ),
        (_RESET, _RESET, ("greater", "a"), ("count", None)),
    ),
    "count_less": Template(
        (
            "how many {a} are less than NUMBER",
            "count {a} less than NUMBER",
            "how many {a} are smaller than NUMBER",
            "how many {a} are below NUMBER",
        ),
        (
            "how many rows with {a} less than NUMBER",
            "count the rows where {a} is below NUMBER",
            "what is the number of {a} smaller than NUMBER",
        ),
        (_RESET, _RESET, ("lesser", "a"), ("count", None)),
    ),
    "count_between": Template(
        (
            "how many {a} are greater than NUMBER and less than NUMBER",
            "how many {a} are between NUMBER and NUMBER",
            "count {a} above NUMBER and below NUMBER",
        ),
        (
            "how many rows with {a} between NUMBER and NUMBER",
            "count the rows where {a} is more than NUMBER and less than NUMBER",
            "what is the number of {a} above NUMBER and below NUMBER",
        ),
        (("greater", "a"), ("lesser", "a"), ("and", None), ("count", None)),
    ),
    "sum_greater": Template(
        (
            "what is the sum of {a} where {b} is greater than NUMBER",
            "sum of {a} where {b} is above NUMBER",
            "total of {a} for rows with {b} more than NUMBER",
        ),
        (
            "what is the total of {a} for rows where {b} is above NUMBER",
            "add up all {a} where {b} is more than NUMBER",
            "print the sum of {a} for {b} greater than NUMBER",
        ),
        (_RESET, _RESET, ("greater", "b"), ("sum", "a")),
    ),
    "sum_less": Template(
        (
            "what is the sum of {a} where {b} is less than NUMBER",
            "sum of {a} where {b} is below NUMBER",
            "total of {a} for rows with {b} smaller than NUMBER",
        ),
        (
            "what is the total of {a} for rows where {b} is below NUMBER",
            "add up all {a} where {b} is less than NUMBER",
            "print the sum of {a} for {b} smaller than NUMBER",
        ),
        (_RESET, _RESET, ("lesser", "b"), ("sum", "a")),
    ),
    "difference": Template(
        (
            "what is the sum of {a} minus the sum of {b} greater than NUMBER",
            "sum of {a} minus sum of {b} above NUMBER",
            "difference between the sum of {a} and the sum of {b} more than NUMBER",
        ),
        (
            "what is the total of {a} minus the total of {b} above NUMBER",
            "print the sum of all {a} minus the sum of {b} more than NUMBER",
            "difference between the total of {a} and the total of {b} greater than NUMBER",
        ),
        (("sum", "a"), ("greater", "b"), ("sum", "b"), ("difference", None)),
    ),
    "greatest": Template(
        (
            "what is the greatest {a}",
            "what is the largest {a}",
            "print the maximum {a}",
            "which {a} is the highest",
        ),
        (
            "which {a} is the largest",
            "print the highest {a}",
            "what is the maximum {a}",
        ),
        (_RESET, _RESET, ("max", "a"), ("print", "a")),
        lookup=True,
    ),
    "least": Template(
        (
            "what is the least {a}",
            "what is the smallest {a}",
            "print the minimum {a}",
            "which {a} is the lowest",
        ),
        (
            "which {a} is the smallest",
            "print the lowest {a}",
            "what is the minimum {a}",
        ),
        (_RESET, _RESET, ("min", "a"), ("print", "a")),
        lookup=True,
    ),
    "sum_text": Template(
        (
            "what is the sum of {a} where {t} is {w}",
            "sum of {a} for {t} {w}",
            "total of {a} where {t} is {w}",
        ),
        (
            "what is the total of {a} for rows with {t} {w}",
            "add up all {a} where {t} is {w}",
            "print the sum of {a} for rows where {t} is {w}",
        ),
        (_RESET, _RESET, ("text_match", "t"), ("sum", "a")),
    ),
    "count_text": Template(
        (
            "how many rows have {t} {w}",
            "how many rows are there where {t} is {w}",
            "count the rows with {t} {w}",
        ),
        (
            "what is the number of rows with {t} {w}",
            "count the rows where {t} is {w}",
            "how many entries have {t} {w}",
        ),
        (_RESET, _RESET, ("text_match", "t"), ("count", None)),
    ),
    "greatest_text": Template(
        (
            "what is the greatest {a} where {t} is {w}",
            "what is the largest {a} for {t} {w}",
            "print the maximum {a} where {t} is {w}",
        ),
        (
            "which {a} is the highest where {t} is {w}",
            "what is the maximum {a} for rows with {t} {w}",
            "print the largest {a} for {t} {w}",
        ),
        (_RESET, ("text_match", "t"), ("max", "a"), ("print", "a")),
        lookup=True,
    ),
}
QUESTION_TYPES = tuple(TEMPLATES)
#: The values of :attr:`TableQAConfig.phrasings`.
PHRASINGS = ("trained", "heldout")


def _words() -> tuple[str, ...]:
    """The task's words in id order: the training phrasings', the column names, the text
    columns' names and words, then any word only a held-out phrasing uses. Word ids (and the
    size of a trained model's embedding table) stay those of the runs trained before the
    held-out phrasings existed as long as these add no word: they recombine known words."""
    words: dict[str, None] = {}

    def add(phrasings: tuple[str, ...]) -> None:
        for text in phrasings:
            for word in text.split():
                if not word.startswith("{"):
                    words[word] = None

    for template in TEMPLATES.values():
        add(template.phrasings)
    words.update(dict.fromkeys(COLUMN_NAMES))
    for name, entries in TEXT_COLUMNS.items():
        words.update(dict.fromkeys((name, *entries)))
    for template in TEMPLATES.values():
        add(template.heldout)
    return tuple(words)


class TableBatch(NamedTuple):
    """A batch of (table, question, answer) episodes; B episodes, Q question tokens, K numbers,
    R rows (padded to the longest table), C numeric columns, X text columns, T program steps.

    question:          (Q, B) long word ids (PAD after the end).
    question_lengths:  (B,) long.
    question_numbers:  (B, K) float, the numbers of the question in order (0 as padding).
    number_positions:  (B, K) long, the position of each number's NUMBER token (0 as padding).
    number_mask:       (B, K) float, 1 for the numbers that exist.
    table:             (B, R, C) float entries (0 in padding rows).
    text_table:        (B, R, X) long word ids of the text entries (0 in padding rows).
    row_mask:          (B, R) float, 1 on the table's rows.
    answer_scalar:     (B,) float (0 for lookup answers).
    answer_lookup:     (B, R, C) float 0/1, the cells of a lookup answer (0 for scalar answers).
    is_lookup:         (B,) float, 1 when the answer is a lookup.
    question_type:     (B,) long index into ``QUESTION_TYPES``.
    program_ops:       (B, T) long indices into ``OPERATIONS``, the template's program.
    program_columns:   (B, T) long column of each program step (C + x: text column x).
    column_words:      (B, C + X) long word ids of the columns' names.
    mask:              (1, B) float ones (one scored answer per episode).
    """

    question: Tensor
    question_lengths: Tensor
    question_numbers: Tensor
    number_positions: Tensor
    number_mask: Tensor
    table: Tensor
    text_table: Tensor
    row_mask: Tensor
    answer_scalar: Tensor
    answer_lookup: Tensor
    is_lookup: Tensor
    question_type: Tensor
    program_ops: Tensor
    program_columns: Tensor
    column_words: Tensor
    mask: Tensor

    def steps_mask(self) -> Tensor:
        """(1, B) ones: one scored answer per episode."""
        return self.mask

    def to(self, device: torch.device | str) -> TableBatch:
        return TableBatch(*(t.to(device) for t in self))


#: A model's answers: ``scalar`` (B,) and ``lookup`` (B, R, C) probabilities in [0, 1].
TableOutputs = ProgramOutputs


@dataclass
class TableQAConfig(TaskConfig):
    """Settings of the table task (defaults: the paper's single-column setting)."""

    columns: int = 1
    #: Columns of words after the numeric ones (at most 3: color, city, brand); questions
    #: about them need ``text_match``.
    text_columns: int = 0
    #: Draw each question's phrasing among several (word variability) instead of the first.
    word_variability: bool = False
    #: Which phrasings questions use: "trained" (the first, or with ``word_variability`` any
    #: training phrasing) or "heldout" (one of each template's held-out rewordings, drawn
    #: uniformly whatever ``word_variability`` says), to measure whether a model answers a
    #: question reworded, not only in the wordings it was trained on.
    phrasings: str = "trained"
    min_rows: int = 30
    max_rows: int = 100
    #: Entries and question numbers are integers in [−train_range, train_range] in training
    #: and in [−eval_range, eval_range] in evaluation.
    train_range: int = 100
    eval_range: int = 200
    #: δ of the Huber loss on scalar answers and λ, the weight of the lookup loss. With a δ
    #: far below the answers' errors the loss is almost L1, whose sign-only gradient lets a
    #: wrong operation's contribution of random sign go unpenalised; the presets use 1000.
    huber_delta: float = 10.0
    lookup_weight: float = 50.0
    #: Measure a scalar answer's error relative to the answer once the answer exceeds one
    #: entry's range: error × min(1, train_range / |y|). Sums then weigh no more than counts
    #: and comparisons, whose answers lie within the entries' range.
    answer_scaled_error: bool = False
    #: Question types drawn (uniformly), comma-separated; empty: all of ``QUESTION_TYPES``.
    question_types: str = ""

    RANGES: ClassVar[dict[str, Range]] = {
        "columns": between(1, len(COLUMN_NAMES)),
        "text_columns": between(0, len(TEXT_COLUMNS)),
        "min_rows": at_least(1),
        "max_rows": at_least(1),
        "train_range": at_least(1),
        "eval_range": at_least(1),
        "huber_delta": above(0),
        "lookup_weight": at_least(0),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.columns <= len(COLUMN_NAMES):
            raise ValueError(f"table_qa columns must be in [1, {len(COLUMN_NAMES)}]")
        if not 0 <= self.text_columns <= len(TEXT_COLUMNS):
            raise ValueError(f"table_qa text_columns must be in [0, {len(TEXT_COLUMNS)}]")
        if not 1 <= self.min_rows <= self.max_rows:
            raise ValueError("table_qa needs 1 <= min_rows <= max_rows")
        if self.train_range < 1 or self.eval_range < 1:
            raise ValueError("table_qa value ranges must be >= 1")
        if self.phrasings not in PHRASINGS:
            raise ValueError(
                f"table_qa phrasings must be one of {', '.join(map(repr, PHRASINGS))}, "
                f"got {self.phrasings!r}"
            )
        chosen = [q.strip() for q in self.question_types.split(",") if q.strip()]
        unknown = [q for q in chosen if q not in TEMPLATES]
        if unknown:
            raise ValueError(f"unknown table_qa question types {unknown}; known: {QUESTION_TYPES}")
        textual = [q for q in chosen if TEMPLATES[q].needs_text]
        if textual and not self.text_columns:
            raise ValueError(f"table_qa question types {textual} need text_columns >= 1")

    @property
    def types(self) -> tuple[str, ...]:
        """The question types drawn (by default every type the tables allow)."""
        chosen = tuple(q.strip() for q in self.question_types.split(",") if q.strip())
        usable = tuple(
            q for q in QUESTION_TYPES if self.text_columns or not TEMPLATES[q].needs_text
        )
        return chosen or usable


class TableQATask(Task):
    """Answer a templated question about a numeric table (the Neural Programmer's task)."""

    name: ClassVar[str] = "table_qa"
    description: ClassVar[str] = "Neural Programmer: questions about a numeric table"
    config_class: ClassVar[type[TaskConfig]] = TableQAConfig
    length_name: ClassVar[str] = "rows"
    headline_metric: ClassVar[str] = "error_rate"
    io_kind: ClassVar[str] = "table"
    vocab: ClassVar[Vocabulary] = Vocabulary(_words(), separator=" ")
    config: TableQAConfig

    @functools.cached_property
    def _text_word_ids(self) -> Tensor:
        """(text columns, WORDS_PER_TEXT_COLUMN): the word ids of each text column's words."""
        return torch.tensor([self.vocab.encode(list(words)) for words in TEXT_COLUMNS.values()])

    @property
    def input_size(self) -> int:
        """The number of word ids."""
        return len(self.vocab)

    @property
    def output_size(self) -> int:
        """The number of table columns, numeric and text."""
        return self.config.columns + self.config.text_columns

    @property
    def train_lengths(self) -> tuple[int, int]:
        return self.config.min_rows, self.config.max_rows

    @property
    def column_names(self) -> tuple[str, ...]:
        """The numeric columns' names, then the text columns'."""
        return COLUMN_NAMES[: self.config.columns] + tuple(TEXT_COLUMNS)[: self.config.text_columns]

    def column_words(self, batch_size: int) -> Tensor:
        """(batch_size, C + X) word ids of :attr:`column_names`, the same for every episode."""
        return torch.tensor(self.vocab.encode(list(self.column_names))).expand(batch_size, -1)

    @property
    def question_types(self) -> tuple[str, ...]:
        return self.config.types

    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> TableBatch:
        """Training episodes; ``length`` fixes the number of rows."""
        return self._sample(batch_size, generator, length, self.config.train_range)

    def sample_evaluation(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> TableBatch:
        """Evaluation episodes, with entries and numbers in [−eval_range, eval_range]."""
        return self._sample(batch_size, generator, length, self.config.eval_range)

    def _sample(
        self, batch_size: int, generator: torch.Generator, length: int | None, value_range: int
    ) -> TableBatch:
        check_integers("table_qa", batch_size=batch_size, length=length)
        if batch_size < 1:
            raise ValueError(f"table_qa batch_size must be >= 1, got {batch_size}")
        if length is not None and length < 1:
            raise ValueError(f"table_qa rows must be >= 1, got {length}")
        cfg = self.config
        columns, text_columns = cfg.columns, cfg.text_columns
        types = self.question_types
        text_names = tuple(TEXT_COLUMNS)[:text_columns]

        def draw(low: int, high: int) -> int:
            return int(torch.randint(low, high + 1, (1,), generator=generator))

        episodes = []
        for _ in range(batch_size):
            rows = length if length is not None else draw(cfg.min_rows, cfg.max_rows)
            values = torch.randint(
                -value_range, value_range + 1, (rows, columns), generator=generator
            ).float()
            words, cell_ids = [[] for _ in range(rows)], None
            if text_names:
                # Row by row, as many draws as cells: the same stream as one draw per cell.
                cells = torch.randint(
                    0, WORDS_PER_TEXT_COLUMN, (rows, text_columns), generator=generator
                )
                cell_ids = self._text_word_ids[torch.arange(text_columns), cells]
                words = [
                    [TEXT_COLUMNS[n][c] for n, c in zip(text_names, row, strict=True)]
                    for row in cells.tolist()
                ]
            kind = types[draw(0, len(types) - 1)]
            template = TEMPLATES[kind]
            phrasing = template.phrasings[0]
            # One draw in place of word variability's, so the rest of the episode (columns,
            # numbers) comes from the stream as it would with training phrasings.
            if cfg.phrasings == "heldout":
                phrasing = template.heldout[draw(0, len(template.heldout) - 1)]
            elif cfg.word_variability:
                phrasing = template.phrasings[draw(0, len(template.phrasings) - 1)]
            a, b = draw(0, columns - 1), draw(0, columns - 1)
            t = draw(0, text_columns - 1) if template.needs_text else 0
            # The word asked about is some row's, so that text_match selects at least one row.
            word = words[draw(0, rows - 1)][t] if template.needs_text else ""
            numbers = sorted(
                float(draw(-value_range, value_range))
                for _ in range(phrasing.split().count(NUMBER))
            )
            names = {"a": COLUMN_NAMES[a], "b": COLUMN_NAMES[b]}
            if template.needs_text:
                names.update(t=text_names[t], w=word)
            question = phrasing.format(**names).split()
            keys = {"a": a, "b": b, "t": columns + t, None: 0}
            program = [(OPERATIONS.index(op), keys[key]) for op, key in template.program]
            episodes.append(
                (kind, values, words, question, numbers, program, a, b, t, word, cell_ids)
            )

        rows_max = max(e[1].shape[0] for e in episodes)
        q_len = max(len(e[3]) for e in episodes)
        k = max(1, max(len(e[4]) for e in episodes))
        question = torch.full((q_len, batch_size), Vocabulary.PAD, dtype=torch.long)
        lengths = torch.zeros(batch_size, dtype=torch.long)
        question_numbers = torch.zeros(batch_size, k)
        number_positions = torch.zeros(batch_size, k, dtype=torch.long)
        number_mask = torch.zeros(batch_size, k)
        table = torch.zeros(batch_size, rows_max, columns)
        text_table = torch.zeros(batch_size, rows_max, text_columns, dtype=torch.long)
        row_mask = torch.zeros(batch_size, rows_max)
        answer_scalar = torch.zeros(batch_size)
        answer_lookup = torch.zeros(batch_size, rows_max, columns)
        is_lookup = torch.zeros(batch_size)
        qtype = torch.zeros(batch_size, dtype=torch.long)
        program_ops = torch.zeros(batch_size, PROGRAM_STEPS, dtype=torch.long)
        program_cols = torch.zeros(batch_size, PROGRAM_STEPS, dtype=torch.long)
        for i, episode in enumerate(episodes):
            kind, values, words, text, numbers, program, a, b, t, word, cell_ids = episode
            rows = values.shape[0]
            question[: len(text), i] = torch.tensor(self.vocab.encode(text))
            lengths[i] = len(text)
            positions = [j for j, w in enumerate(text) if w == NUMBER]
            question_numbers[i, : len(numbers)] = torch.tensor(numbers)
            number_positions[i, : len(positions)] = torch.tensor(positions, dtype=torch.long)
            number_mask[i, : len(numbers)] = 1.0
            table[i, :rows] = values
            if text_columns:
                text_table[i, :rows] = cell_ids
            row_mask[i, :rows] = 1.0
            qtype[i] = QUESTION_TYPES.index(kind)
            program_ops[i] = torch.tensor([op for op, _ in program])
            program_cols[i] = torch.tensor([col for _, col in program])
            matching = torch.tensor([r[t] == word for r in words]) if word else None
            if TEMPLATES[kind].lookup:
                is_lookup[i] = 1.0
                chosen = values[:, a] if matching is None else values[matching, a]
                best = chosen.max() if kind in ("greatest", "greatest_text") else chosen.min()
                hit = values[:, a] == best
                answer_lookup[i, :rows, a] = (hit if matching is None else hit & matching).float()
            else:
                answer_scalar[i] = _scalar_answer(kind, values, a, b, numbers, matching)

        return TableBatch(
            question=question,
            question_lengths=lengths,
            question_numbers=question_numbers,
            number_positions=number_positions,
            number_mask=number_mask,
            table=table,
            text_table=text_table,
            row_mask=row_mask,
            answer_scalar=answer_scalar,
            answer_lookup=answer_lookup,
            is_lookup=is_lookup,
            question_type=qtype,
            program_ops=program_ops,
            program_columns=program_cols,
            column_words=self.column_words(batch_size),
            mask=torch.ones(1, batch_size),
        )

    def loss_per_example(self, outputs: TableOutputs, batch: TableBatch) -> Tensor:
        """(B,) losses: Huber(δ) on scalar answers, λ × mean binary log loss over the lookup
        matrix (the table's rows and columns) on lookup answers. With ``answer_scaled_error``
        the scalar error is first scaled by min(1, train_range / |y|)."""
        delta = self.config.huber_delta
        error = (outputs.scalar - batch.answer_scalar).abs()
        if self.config.answer_scaled_error:
            size = batch.answer_scalar.abs().clamp_min(self.config.train_range)
            error = error * (self.config.train_range / size)
        huber = torch.where(error <= delta, 0.5 * error**2, delta * error - 0.5 * delta**2)
        p = outputs.lookup.clamp(1e-6, 1.0 - 1e-6)
        y = batch.answer_lookup
        cells = -(y * p.log() + (1.0 - y) * (1.0 - p).log()) * batch.row_mask.unsqueeze(-1)
        count = batch.row_mask.sum(-1).clamp_min(1.0) * batch.table.shape[-1]
        log_loss = cells.sum((1, 2)) / count
        return (1.0 - batch.is_lookup) * huber + self.config.lookup_weight * batch.is_lookup * (
            log_loss
        )

    def loss(self, outputs: TableOutputs, batch: TableBatch) -> Tensor:  # type: ignore[override]
        """The mean over the batch of :meth:`loss_per_example`."""
        return self.loss_per_example(outputs, batch).mean()

    def correct(self, outputs: TableOutputs, batch: TableBatch) -> Tensor:
        """(B,) bools: a scalar answer within 0.5 of the truth; a lookup answer whose most
        probable cell (over the table's rows) is one of the answer's cells."""
        scalar_right = (outputs.scalar - batch.answer_scalar).abs() < 0.5
        scores = outputs.lookup.masked_fill(batch.row_mask.unsqueeze(-1) == 0, -1.0)
        best = scores.flatten(1).argmax(-1)
        lookup_right = batch.answer_lookup.flatten(1).gather(1, best[:, None]).squeeze(1) > 0.5
        return torch.where(batch.is_lookup > 0.5, lookup_right, scalar_right)

    @torch.no_grad()
    def metrics(self, outputs: TableOutputs, batch: TableBatch) -> dict[str, float]:  # type: ignore[override]
        """``loss``, ``accuracy``, ``error_rate`` (the headline) and ``accuracy_<type>`` for each
        question type present in the batch (a type the batch lacks is left out).
        :meth:`metric_weights` weighs each per-type accuracy by its episodes when batches are
        pooled."""
        right = self.correct(outputs, batch).float()
        accuracy = right.mean().item()
        result = {
            "loss": self.loss(outputs, batch).item(),
            "accuracy": accuracy,
            "error_rate": 1.0 - accuracy,
        }
        masks = self._type_masks(batch)
        for kind, of_kind in masks.items():
            result[f"accuracy_{kind}"] = right[of_kind].mean().item()
        if outputs.soft_scalar is not None and outputs.soft_lookup is not None:
            soft = self.correct(ProgramOutputs(outputs.soft_scalar, outputs.soft_lookup), batch)
            result["soft_accuracy"] = soft.float().mean().item()
            for kind, of_kind in masks.items():
                result[f"soft_accuracy_{kind}"] = soft[of_kind].float().mean().item()
        if outputs.ops is not None and outputs.columns is not None and right.any():
            intended = self.intended_program(outputs.ops, outputs.columns, batch)
            result["program_intended"] = intended[right > 0].float().mean().item()
            if outputs.pivots is not None:
                same = self.equivalent_program(outputs.ops, outputs.columns, outputs.pivots, batch)
                result["program_equivalent"] = same[right > 0].float().mean().item()
        return result

    def metric_weights(self, batch: TableBatch, outputs: TableOutputs) -> dict[str, float]:
        """The episodes each metric of :meth:`metrics` averages over where it is not the whole
        batch: a per-type accuracy its type's, ``program_intended`` and
        ``program_equivalent`` the right answers'."""
        weights = {}
        for kind, of_kind in self._type_masks(batch).items():
            weights[f"accuracy_{kind}"] = weights[f"soft_accuracy_{kind}"] = float(of_kind.sum())
        weights["program_intended"] = float(self.correct(outputs, batch).sum())
        weights["program_equivalent"] = weights["program_intended"]
        return weights

    @staticmethod
    def intended_program(ops: Tensor, columns: Tensor, batch: TableBatch) -> Tensor:
        """(B,) bools: the program ``ops``, ``columns`` (B, T) is the question's intended one:
        the same operation at every step and the same column wherever the operation reads
        one."""
        same_ops = (ops == batch.program_ops).all(-1)
        reads = torch.zeros(len(OPERATIONS), dtype=torch.bool)
        reads[[OPERATIONS.index(op) for op in COLUMN_OPERATIONS]] = True
        needed = reads.to(ops.device)[batch.program_ops]
        same_columns = ((columns == batch.program_columns) | ~needed).all(-1)
        return same_ops & same_columns

    def equivalent_program(
        self, ops: Tensor, columns: Tensor, pivots: Tensor, batch: TableBatch, trials: int = 4
    ) -> Tensor:
        """(B,) bools: the program ``ops``, ``columns`` (B, T) with ``pivots`` (B, 2) answers
        as the question's intended program does on ``trials`` fresh tables (numeric entries
        redrawn in the evaluation range, seeded; rows and words kept): the same scalar, or
        for a lookup question the same lookup cells."""
        generator = torch.Generator().manual_seed(0)
        matches = text_matches(batch.question, batch.text_table)
        last = (batch.number_mask.sum(-1).long() - 1).clamp_min(0)
        wanted_pivots = (
            batch.question_numbers[:, 0],
            batch.question_numbers.gather(1, last[:, None]).squeeze(1),
        )
        r = self.config.eval_range
        same = torch.ones(ops.shape[0], dtype=torch.bool, device=ops.device)
        for _ in range(trials):
            table = torch.randint(-r, r + 1, batch.table.shape, generator=generator)
            table = table.to(batch.table) * batch.row_mask.unsqueeze(-1)
            got = run_program(
                ops, columns, table, batch.row_mask, pivots[:, 0], pivots[:, 1], matches
            )
            want = run_program(
                batch.program_ops,
                batch.program_columns,
                table,
                batch.row_mask,
                *wanted_pivots,
                matches,
            )
            scalar = (got.scalars[:, 0] - want.scalars[:, 0]).abs() < 0.5
            lookup = (got.lookup == want.lookup).flatten(1).all(-1)
            same &= torch.where(batch.is_lookup > 0.5, lookup, scalar)
        return same

    def _type_masks(self, batch: TableBatch) -> dict[str, Tensor]:
        """(B,) bool masks of the question types drawn that the batch holds."""
        masks = {}
        for kind in self.question_types:
            of_kind = batch.question_type == QUESTION_TYPES.index(kind)
            if of_kind.any():
                masks[kind] = of_kind
        return masks

    def question_batch(
        self, header: Sequence[str], rows: Sequence[Sequence[str]], question: str
    ) -> tuple[TableBatch, list[str]]:
        """A batch of one episode from a user's table (its column names and rows of cells, as
        read from a CSV) and question, and notes on what was read differently (words the model
        does not know, columns the table lacks). Raises ValueError, saying what was expected,
        for an empty table, more rows or columns than trained on, unknown column names,
        non-numeric cells in numeric columns, and a question with no known word."""
        cfg = self.config
        names = self.column_names
        if not header or not rows:
            raise ValueError(
                "the table is empty: expected a CSV with a header line naming the columns "
                f"(some of {', '.join(names)}) and at least one row"
            )
        header = [h.strip().lower() for h in header]
        if len(header) > len(names):
            raise ValueError(
                f"the table has {len(header)} columns but the model was trained on "
                f"{len(names)}: {', '.join(names)}"
            )
        unknown = [h for h in header if h not in names]
        if unknown:
            raise ValueError(
                f"column {unknown[0]!r} is not one the model was trained on; expected column "
                f"names among {', '.join(names)}"
            )
        if len(set(header)) < len(header):
            raise ValueError(f"the table's header names a column twice: {', '.join(header)}")
        if len(rows) > cfg.max_rows:
            raise ValueError(
                f"the table has {len(rows)} rows but the model was trained on tables of at most "
                f"{cfg.max_rows} rows"
            )
        notes = []
        missing = [n for n in names if n not in header]
        if missing:
            notes.append(f"the table lacks column(s) {', '.join(missing)}: read as empty (0)")
        table = torch.zeros(1, len(rows), cfg.columns)
        text_table = torch.zeros(1, len(rows), cfg.text_columns, dtype=torch.long)
        largest = 0.0
        for r, cells in enumerate(rows, start=1):
            if len(cells) != len(header):
                raise ValueError(
                    f"row {r} has {len(cells)} cells but the header names {len(header)} columns"
                )
            for name, cell in zip(header, cells, strict=True):
                j = names.index(name)
                cell = cell.strip()
                if j < cfg.columns:
                    try:
                        value = float(cell)
                    except ValueError:
                        raise ValueError(
                            f"row {r}, column {name!r}: {cell!r} is not a number; the model "
                            f"reads column {name!r} as numbers"
                        ) from None
                    table[0, r - 1, j] = _usable(value, f"row {r}, column {name!r}", cell)
                    largest = max(largest, abs(value))
                else:
                    words = TEXT_COLUMNS[name]
                    if cell.lower() not in words:
                        raise ValueError(
                            f"row {r}, column {name!r}: {cell!r} is not a word the model knows "
                            f"for {name!r}; expected one of {', '.join(words)}"
                        )
                    text_table[0, r - 1, j - cfg.columns] = self.vocab.encode([cell.lower()])[0]
        spaced = question.lower().replace(">", " greater than ").replace("<", " less than ")
        words, numbers, ignored = [], [], []
        for token in spaced.replace(",", " ").replace("?", " ").split():
            try:
                number = float(token)
            except ValueError:
                number = None
            if number is not None:
                numbers.append(_usable(number, "the question", token))
                largest = max(largest, abs(number))
                words.append(NUMBER)
            else:
                token = token.strip(".!;:")
                if token in self.vocab.symbols and token != NUMBER:
                    words.append(token)
                elif token:
                    ignored.append(token)
        if not any(w != NUMBER for w in words):
            raise ValueError(
                f"none of the words of {question!r} is known to the model; expected a question "
                f"such as {self.question_example()!r}"
            )
        if ignored:
            notes.append(f"words the model does not know were left out: {', '.join(ignored)}")
        if largest > cfg.eval_range:
            notes.append(
                f"numbers up to {largest:g} in size, beyond the ±{cfg.eval_range} of any "
                "episode the model has seen: its answer may be off"
            )
        k = max(1, len(numbers))
        question_numbers = torch.zeros(1, k)
        number_positions = torch.zeros(1, k, dtype=torch.long)
        number_mask = torch.zeros(1, k)
        if numbers:
            question_numbers[0, : len(numbers)] = torch.tensor(numbers)
            positions = [i for i, w in enumerate(words) if w == NUMBER]
            number_positions[0, : len(numbers)] = torch.tensor(positions)
            number_mask[0, : len(numbers)] = 1.0
        rows_count = len(rows)
        batch = TableBatch(
            question=torch.tensor(self.vocab.encode(words))[:, None],
            question_lengths=torch.tensor([len(words)]),
            question_numbers=question_numbers,
            number_positions=number_positions,
            number_mask=number_mask,
            table=table,
            text_table=text_table,
            row_mask=torch.ones(1, rows_count),
            answer_scalar=torch.zeros(1),
            answer_lookup=torch.zeros(1, rows_count, cfg.columns),
            is_lookup=torch.zeros(1),
            question_type=torch.zeros(1, dtype=torch.long),
            program_ops=torch.zeros(1, PROGRAM_STEPS, dtype=torch.long),
            program_columns=torch.zeros(1, PROGRAM_STEPS, dtype=torch.long),
            column_words=self.column_words(1),
            mask=torch.ones(1, 1),
        )
        return batch, notes

    def answer_text(self, outputs: TableOutputs, batch: TableBatch, index: int = 0) -> str:
        """The answer of episode ``index`` as text: the scalar, or when the argmax program ends
        in ``print`` (``outputs.ops``), the cells of the lookup answer with their rows
        (counted from 1) and columns."""
        printed = outputs.ops is not None and int(outputs.ops[index, -1]) == OP_PRINT
        if not printed:
            return f"{outputs.scalar[index].item():g}"
        rows = int(batch.row_mask[index].sum())
        cells = (outputs.lookup[index, :rows] > 0.5).nonzero().tolist()
        if not cells:
            return "no cell"
        names = self.column_names
        return ", ".join(
            f"{batch.table[index, r, c].item():g} (row {r + 1}, {names[c]})" for r, c in cells
        )

    def example(self, batch: TableBatch, index: int) -> tuple[TableBatch, int]:
        """The question is drawn where it stands in its batch (its table's padding rows are
        masked there)."""
        return batch, index

    def describe_example(self, batch: TableBatch, index: int, outputs: TableOutputs) -> list[str]:
        """The question, and the answer given with whether it is right."""
        right = "right" if bool(self.correct(outputs, batch)[index]) else "wrong"
        return [
            f"question: {self.question_text(batch, index)}",
            f"answer: {self.answer_text(outputs, batch, index)} ({right})",
        ]

    def sizes_text(self) -> str:
        return f"a vocabulary of {self.input_size} words, tables of {self.output_size} columns"

    def question_example(self) -> str:
        """A question in the first phrasing of the "sum_greater" type, about this task's
        columns."""
        names = {"a": COLUMN_NAMES[0], "b": COLUMN_NAMES[min(1, self.config.columns - 1)]}
        return TEMPLATES["sum_greater"].phrasings[0].format(**names).replace(NUMBER, "3")

    def question_text(self, batch: TableBatch, index: int = 0) -> str:
        """The question of episode ``index`` with its numbers written in."""
        length = int(batch.question_lengths[index])
        words = self.vocab.decode(batch.question[:length, index]).split()
        numbers = iter(batch.question_numbers[index].tolist())
        return " ".join(f"{next(numbers):g}" if w == NUMBER else w for w in words)

    def render(self, batch: TableBatch, index: int = 0, logits: TableOutputs | None = None) -> str:  # type: ignore[override]
        rows = int(batch.row_mask[index].sum())
        lines = [f"question: {self.question_text(batch, index)}"]
        lines.append("table: " + " | ".join(self.column_names) + f" ({rows} rows)")
        for r in range(min(rows, 5)):
            words = self.vocab.decode(batch.text_table[index, r]).split()
            lines.append(
                "  " + " ".join([f"{v:g}" for v in batch.table[index, r].tolist()] + words)
            )
        if rows > 5:
            lines.append("  ...")
        program = " -> ".join(
            f"{OPERATIONS[int(op)]}({self.column_names[int(col)]})"
            for op, col in zip(batch.program_ops[index], batch.program_columns[index], strict=True)
        )
        lines.append(f"program: {program}")
        lines.append(f"answer: {self._answer_text(batch, index)}")
        if logits is not None:
            if batch.is_lookup[index] > 0.5:
                cells = logits.lookup[index, :rows].flatten().argmax().item()
                r, c = divmod(cells, batch.table.shape[-1])
                lines.append(f"predicted: {batch.table[index, r, c].item():g}")
            else:
                lines.append(f"predicted: {logits.scalar[index].item():.2f}")
        return "\n".join(lines)

    def _answer_text(self, batch: TableBatch, index: int) -> str:
        if batch.is_lookup[index] > 0.5:
            cells = batch.answer_lookup[index].nonzero()
            r, c = cells[0].tolist()
            return f"{batch.table[index, r, c].item():g} (lookup, {len(cells)} cell(s))"
        return f"{batch.answer_scalar[index].item():g}"


#: The largest size of an entry or a question number read from a user (a sum of a hundred of
#: them stays far inside float32's range).
LARGEST_NUMBER = 1e30


def _usable(value: float, where: str, text: str) -> float:
    """``value`` (read from ``text`` at ``where``), or a ``ValueError`` when it is NaN,
    infinite or too large to compute with in float32."""
    if not math.isfinite(value) or abs(value) > LARGEST_NUMBER:
        raise ValueError(
            f"{where}: {text!r} is not a number the model can compute with (expected a finite "
            f"number of size at most {LARGEST_NUMBER:g})"
        )
    return value


def read_table(path: str | Path) -> tuple[list[str], list[list[str]]]:
    """A CSV file's header and rows of cells (blank lines skipped)."""
    with open(path, newline="", encoding="utf-8") as handle:
        lines = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    return (lines[0], lines[1:]) if lines else ([], [])


def _scalar_answer(
    kind: str, values: Tensor, a: int, b: int, numbers: list[float], matching: Tensor | None
) -> float:
    """The answer to a scalar question, computed directly from the (rows, columns) table and,
    for questions about a text column, the (rows,) bools of the rows holding the word asked."""
    x = numbers[0] if numbers else 0.0
    col_a, col_b = values[:, a], values[:, b]
    if kind == "sum":
        return col_a.sum().item()
    if kind == "count":
        return float(values.shape[0])
    if kind == "count_greater":
        return (col_a > x).sum().item()
    if kind == "count_less":
        return (col_a < x).sum().item()
    if kind == "count_between":
        return ((col_a > numbers[0]) & (col_a < numbers[1])).sum().item()
    if kind == "sum_greater":
        return col_a[col_b > x].sum().item()
    if kind == "sum_less":
        return col_a[col_b < x].sum().item()
    if kind == "sum_text" and matching is not None:
        return col_a[matching].sum().item()
    if kind == "count_text" and matching is not None:
        return matching.sum().item()
    if kind == "difference":
        return col_a.sum().item() - col_b[col_b > x].sum().item()
    raise ValueError(f"not a scalar question type: {kind!r}")
