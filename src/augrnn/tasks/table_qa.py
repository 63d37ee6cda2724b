"""Question answering over a numeric table, the Neural Programmer's synthetic task.

Neelakantan, Le & Sutskever (2015), arXiv 1511.04834, §4: a table of 30–100 rows and ``columns``
numeric columns with integer entries in [−100, 100] for training and [−200, 200] for evaluation
(:meth:`TableQATask.sample_evaluation`), and a question drawn from templates. Each template
carries the program that answers it (one operation and one column per step, ``PROGRAM_STEPS``
steps, in the operation set of :mod:`augrnn.programmer.operations`); the answer is computed
directly from the table, and the tests execute the programs to check it.

Numbers in a question are replaced by the ``NUMBER`` token and kept, with their positions, in
``question_numbers`` and ``number_positions``. Answers are scalars (sums, counts, differences) or
lookups (the greatest or least entry of a column: a 0/1 (rows, columns) matrix marking every cell
that holds it). The loss is the paper's: Huber (δ) on scalar answers and the mean binary log loss
over the lookup matrix on lookup answers, weighted by λ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import torch
from torch import Tensor

from augrnn.programmer.operations import OPERATIONS, ProgramOutputs
from augrnn.tasks.base import Task, TaskConfig
from augrnn.tasks.text import Vocabulary

#: Length T of every program (the paper's T = 4).
PROGRAM_STEPS = 4
COLUMN_NAMES = ("price", "qty", "weight", "score", "age", "rank", "height", "cost")
NUMBER = "NUMBER"
#: The operations whose column choice matters.
COLUMN_OPERATIONS = ("sum", "greater", "lesser", "max", "min", "print")

#: name -> (words with {a}, {b} for columns and NUMBER for numbers, program steps of
#: (operation, column key), lookup answer?). A column key is "a", "b" or None (column 0).
TEMPLATES: dict[str, tuple[str, tuple[tuple[str, str | None], ...], bool]] = {
    "sum": ("what is the sum of {a}", (("reset", None),) * 3 + (("sum", "a"),), False),
    "count": ("how many rows are there", (("reset", None),) * 3 + (("count", None),), False),
    "count_greater": (
        "how many {a} are greater than NUMBER",
        (("reset", None), ("reset", None), ("greater", "a"), ("count", None)),
        False,
    ),
    "count_less": (
        "how many {a} are less than NUMBER",
        (("reset", None), ("reset", None), ("lesser", "a"), ("count", None)),
        False,
    ),
    "count_between": (
        "how many {a} are greater than NUMBER and less than NUMBER",
        (("greater", "a"), ("lesser", "a"), ("and", None), ("count", None)),
        False,
    ),
    "sum_greater": (
        "what is the sum of {a} where {b} is greater than NUMBER",
        (("reset", None), ("reset", None), ("greater", "b"), ("sum", "a")),
        False,
    ),
    "sum_less": (
        "what is the sum of {a} where {b} is less than NUMBER",
        (("reset", None), ("reset", None), ("lesser", "b"), ("sum", "a")),
        False,
    ),
    "difference": (
        "what is the sum of {a} minus the sum of {b} greater than NUMBER",
        (("sum", "a"), ("greater", "b"), ("sum", "b"), ("difference", None)),
        False,
    ),
    "greatest": (
        "what is the greatest {a}",
        (("reset", None), ("reset", None), ("max", "a"), ("print", "a")),
        True,
    ),
    "least": (
        "what is the least {a}",
        (("reset", None), ("reset", None), ("min", "a"), ("print", "a")),
        True,
    ),
}
QUESTION_TYPES = tuple(TEMPLATES)


def _words() -> tuple[str, ...]:
    words: dict[str, None] = {}
    for text, _, _ in TEMPLATES.values():
        for word in text.split():
            if not word.startswith("{"):
                words[word] = None
    words.update(dict.fromkeys(COLUMN_NAMES))
    return tuple(words)


class TableBatch(NamedTuple):
    """A batch of (table, question, answer) episodes; B episodes, Q question tokens, K numbers,
    R rows (padded to the longest table), C columns, T program steps.

    question:          (Q, B) long word ids (PAD after the end).
    question_lengths:  (B,) long.
    question_numbers:  (B, K) float, the numbers of the question in order (0 as padding).
    number_positions:  (B, K) long, the position of each number's NUMBER token (0 as padding).
    number_mask:       (B, K) float, 1 for the numbers that exist.
    table:             (B, R, C) float entries (0 in padding rows).
    row_mask:          (B, R) float, 1 on the table's rows.
    answer_scalar:     (B,) float (0 for lookup answers).
    answer_lookup:     (B, R, C) float 0/1, the cells of a lookup answer (0 for scalar answers).
    is_lookup:         (B,) float, 1 when the answer is a lookup.
    question_type:     (B,) long index into ``QUESTION_TYPES``.
    program_ops:       (B, T) long indices into ``OPERATIONS``, the template's program.
    program_columns:   (B, T) long column of each program step.
    mask:              (1, B) float ones (one scored answer per episode).
    """

    question: Tensor
    question_lengths: Tensor
    question_numbers: Tensor
    number_positions: Tensor
    number_mask: Tensor
    table: Tensor
    row_mask: Tensor
    answer_scalar: Tensor
    answer_lookup: Tensor
    is_lookup: Tensor
    question_type: Tensor
    program_ops: Tensor
    program_columns: Tensor
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
    min_rows: int = 30
    max_rows: int = 100
    #: Entries and question numbers are integers in [−train_range, train_range] in training
    #: and in [−eval_range, eval_range] in evaluation.
    train_range: int = 100
    eval_range: int = 200
    #: δ of the Huber loss on scalar answers and λ, the weight of the lookup loss.
    huber_delta: float = 10.0
    lookup_weight: float = 50.0
    #: Question types drawn (uniformly), comma-separated; empty: all of ``QUESTION_TYPES``.
    question_types: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.columns <= len(COLUMN_NAMES):
            raise ValueError(f"table_qa columns must be in [1, {len(COLUMN_NAMES)}]")
        if not 1 <= self.min_rows <= self.max_rows:
            raise ValueError("table_qa needs 1 <= min_rows <= max_rows")
        if self.train_range < 1 or self.eval_range < 1:
            raise ValueError("table_qa value ranges must be >= 1")
        unknown = [q for q in self.types if q not in TEMPLATES]
        if unknown:
            raise ValueError(f"unknown table_qa question types {unknown}; known: {QUESTION_TYPES}")

    @property
    def types(self) -> tuple[str, ...]:
        """The question types drawn."""
        chosen = tuple(q.strip() for q in self.question_types.split(",") if q.strip())
        return chosen or QUESTION_TYPES


class TableQATask(Task):
    """Answer a templated question about a numeric table (the Neural Programmer's task)."""

    name: ClassVar[str] = "table_qa"
    description: ClassVar[str] = "Neural Programmer: questions about a numeric table"
    config_class: ClassVar[type[TaskConfig]] = TableQAConfig
    length_name: ClassVar[str] = "rows"
    headline_metric: ClassVar[str] = "error_rate"
    vocab: ClassVar[Vocabulary] = Vocabulary(_words(), separator=" ")
    config: TableQAConfig

    @property
    def input_size(self) -> int:
        """The number of word ids."""
        return len(self.vocab)

    @property
    def output_size(self) -> int:
        """The number of table columns."""
        return self.config.columns

    @property
    def train_lengths(self) -> tuple[int, int]:
        return self.config.min_rows, self.config.max_rows

    @property
    def column_names(self) -> tuple[str, ...]:
        return COLUMN_NAMES[: self.config.columns]

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
        if batch_size < 1:
            raise ValueError(f"table_qa batch_size must be >= 1, got {batch_size}")
        if length is not None and length < 1:
            raise ValueError(f"table_qa rows must be >= 1, got {length}")
        cfg = self.config
        columns = cfg.columns
        types = self.question_types

        def draw(low: int, high: int) -> int:
            return int(torch.randint(low, high + 1, (1,), generator=generator))

        episodes = []
        for _ in range(batch_size):
            rows = length if length is not None else draw(cfg.min_rows, cfg.max_rows)
            table = torch.randint(
                -value_range, value_range + 1, (rows, columns), generator=generator
            )
            kind = types[draw(0, len(types) - 1)]
            a, b = draw(0, columns - 1), draw(0, columns - 1)
            wanted = TEMPLATES[kind][0].split().count(NUMBER)
            numbers = sorted(float(draw(-value_range, value_range)) for _ in range(wanted))
            episodes.append((kind, table.float(), a, b, numbers))

        rows_max = max(e[1].shape[0] for e in episodes)
        questions, lengths, number_values, positions = [], [], [], []
        table = torch.zeros(batch_size, rows_max, columns)
        row_mask = torch.zeros(batch_size, rows_max)
        answer_scalar = torch.zeros(batch_size)
        answer_lookup = torch.zeros(batch_size, rows_max, columns)
        is_lookup = torch.zeros(batch_size)
        qtype = torch.zeros(batch_size, dtype=torch.long)
        program_ops = torch.zeros(batch_size, PROGRAM_STEPS, dtype=torch.long)
        program_cols = torch.zeros(batch_size, PROGRAM_STEPS, dtype=torch.long)
        for i, (kind, values, a, b, numbers) in enumerate(episodes):
            text, program, lookup = TEMPLATES[kind]
            names = COLUMN_NAMES
            words = text.format(a=names[a], b=names[b]).split()
            questions.append(self.vocab.encode(words))
            lengths.append(len(words))
            positions.append([j for j, w in enumerate(words) if w == NUMBER])
            number_values.append(numbers)
            rows = values.shape[0]
            table[i, :rows] = values
            row_mask[i, :rows] = 1.0
            qtype[i] = QUESTION_TYPES.index(kind)
            keys = {"a": a, "b": b, None: 0}
            for t, (op, key) in enumerate(program):
                program_ops[i, t] = OPERATIONS.index(op)
                program_cols[i, t] = keys[key]
            if lookup:
                is_lookup[i] = 1.0
                column = values[:, a]
                best = column.max() if kind == "greatest" else column.min()
                answer_lookup[i, :rows, a] = (column == best).float()
            else:
                answer_scalar[i] = _scalar_answer(kind, values, a, b, numbers)

        q_len = max(lengths)
        question = torch.full((q_len, batch_size), Vocabulary.PAD, dtype=torch.long)
        for i, ids in enumerate(questions):
            question[: len(ids), i] = torch.tensor(ids)
        k = max(1, max(len(n) for n in number_values))
        question_numbers = torch.zeros(batch_size, k)
        number_positions = torch.zeros(batch_size, k, dtype=torch.long)
        number_mask = torch.zeros(batch_size, k)
        for i, (nums, pos) in enumerate(zip(number_values, positions, strict=True)):
            question_numbers[i, : len(nums)] = torch.tensor(nums)
            number_positions[i, : len(pos)] = torch.tensor(pos)
            number_mask[i, : len(nums)] = 1.0
        return TableBatch(
            question=question,
            question_lengths=torch.tensor(lengths),
            question_numbers=question_numbers,
            number_positions=number_positions,
            number_mask=number_mask,
            table=table,
            row_mask=row_mask,
            answer_scalar=answer_scalar,
            answer_lookup=answer_lookup,
            is_lookup=is_lookup,
            question_type=qtype,
            program_ops=program_ops,
            program_columns=program_cols,
            mask=torch.ones(1, batch_size),
        )

    def loss_per_example(self, outputs: TableOutputs, batch: TableBatch) -> Tensor:
        """(B,) losses: Huber(δ) on scalar answers, λ × mean binary log loss over the lookup
        matrix (the table's rows and columns) on lookup answers."""
        delta = self.config.huber_delta
        error = (outputs.scalar - batch.answer_scalar).abs()
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
        return result

    def metric_weights(self, batch: TableBatch, outputs: TableOutputs) -> dict[str, float]:
        """The episodes each metric of :meth:`metrics` averages over where it is not the whole
        batch: a per-type accuracy its type's, ``program_intended`` the right answers'."""
        weights = {}
        for kind, of_kind in self._type_masks(batch).items():
            weights[f"accuracy_{kind}"] = weights[f"soft_accuracy_{kind}"] = float(of_kind.sum())
        weights["program_intended"] = float(self.correct(outputs, batch).sum())
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

    def _type_masks(self, batch: TableBatch) -> dict[str, Tensor]:
        """(B,) bool masks of the question types drawn that the batch holds."""
        masks = {}
        for kind in self.question_types:
            of_kind = batch.question_type == QUESTION_TYPES.index(kind)
            if of_kind.any():
                masks[kind] = of_kind
        return masks

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
            lines.append("  " + " ".join(f"{v:g}" for v in batch.table[index, r].tolist()))
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


def _scalar_answer(kind: str, values: Tensor, a: int, b: int, numbers: list[float]) -> float:
    """The answer to a scalar question, computed directly from the (rows, columns) table."""
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
    if kind == "difference":
        return col_a.sum().item() - col_b[col_b > x].sum().item()
    raise ValueError(f"not a scalar question type: {kind!r}")
