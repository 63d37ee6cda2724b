"""The Neural Programmer (Neelakantan, Le & Sutskever 2015, arXiv 1511.04834).

A question RNN reads the question into q (and keeps, for each number of the question, the state
at the word to its left: the pivot keys Z). For T steps a history RNN h_t = tanh(W_hist [c_{t−1};
h_{t−1}]) and q drive the selector

    α_op  = softmax(U tanh(W_op  [q; h_t]))      over the operations
    α_col = softmax(P tanh(W_col [q; h_t]))      over the columns

and the soft program state is updated with every operation's result mixed by α_op · α_col
(:func:`augrnn.table_operations.program_step`); c_t is the α-weighted operation and column
embeddings. The answer is the last step's scalar and lookup. With ``hard=True`` (the default in
evaluation, as in the paper's test time) α_op and α_col are one-hot argmaxes.

A table may hold, after its C numeric columns, K columns of words: α_col covers all C + K
(``columns``) and ``text_match`` is available; on tables without text columns it is masked out
of α_op.

With ``bidirectional`` the question RNN reads the question both ways (the paper does so for
longer questions) and q is the forward RNN's last state beside the backward RNN's state at the
first word, so that words early in a long question ("greater than x and less than y") reach q
as directly as the last ones; the pivot keys Z are then both directions' states.

The column representations P are read from the columns' names, as in the paper: P_j is a
linear map of the word embedding of column j's name (the question RNN's embedding, so a name in
the question and the column it names start from the same vector), plus a learned vector per
column position that starts at zero.

Gradient noise (the paper trains with decaying Gaussian noise added to the gradients;
Neelakantan et al. 2015b): with ``gradient_noise`` η > 0 every call of
:meth:`NeuralProgrammer.loss` in training mode counts a step t, and the next backward pass adds
N(0, σ_t²) (:func:`~augrnn.gradient_noise.gradient_noise_std`, decay γ =
``gradient_noise_decay``) to each parameter's gradient through parameter hooks, so the generic
Trainer needs no change. The step count is a buffer, saved with the checkpoint.

The options that are not in the paper (the selection penalties, ``and`` as a product, expected
extremes, operation noise and program search) are described, with what each is for, in
:mod:`augrnn.programmer.regularisers`; all are off by default.

Registered as the model kind ``programmer`` (:class:`NeuralProgrammerConfig`); its package adds
the command ``augrnn ask``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from augrnn.core import Trace, emit, tracing
from augrnn.gradient_noise import gradient_noise_std, register_gradient_noise
from augrnn.interface import Model, ModelConfig
from augrnn.programmer.regularisers import (
    SELECTION_PENALTIES,
    ExpectedExtremes,
    noisy_scores,
    penalised_losses,
    product_and,
    program_search_loss,
)
from augrnn.settings import Range, above, at_least
from augrnn.table_operations import (
    OP,
    OPERATIONS,
    ProgramOutputs,
    extreme_rows,
    initial_state,
    logical_and,
    pivot,
    program_step,
    text_matches,
)

#: The batch a Neural Programmer reads: a table question's (:class:`augrnn.tasks.table_qa.
#: TableBatch`: the question's word ids and numbers, the table, its text columns and the answer).
TableBatch = Any


class NeuralProgrammer(Model):
    """The Neural Programmer over tables of ``columns`` columns (numeric ones, then any columns
    of words) and questions of ``vocab_size`` word ids; ``steps`` is T (the paper's 4).

    As a :class:`~augrnn.interface.Model` it reads a table question's batch; its evaluation
    outputs are the argmax program's answers (the paper's test time) with that program and the
    soft program's answers (:class:`~augrnn.table_operations.ProgramOutputs`).
    """

    def __init__(
        self,
        vocab_size: int,
        columns: int,
        embedding_size: int = 64,
        hidden_size: int = 128,
        steps: int = 4,
        comparison_sharpness: float = 20.0,
        gradient_noise: float = 0.0,
        gradient_noise_decay: float = 0.55,
        bidirectional: bool = False,
        selection_entropy: float = 0.0,
        selection_penalty: str = "entropy",
        selection_loss_cap: float | None = None,
        and_product: bool = False,
        operation_noise: float = 0.0,
        expected_extremes: bool = False,
        program_search: float = 0.0,
        program_search_episodes: int = 16,
    ):
        super().__init__()
        if steps < 1:
            raise ValueError(f"program steps must be >= 1, got {steps}")
        if operation_noise < 0:
            raise ValueError(f"operation_noise must be >= 0, got {operation_noise}")
        if gradient_noise < 0:
            raise ValueError(f"gradient_noise must be >= 0, got {gradient_noise}")
        if program_search < 0:
            raise ValueError(f"program_search must be >= 0, got {program_search}")
        if program_search_episodes < 1:
            raise ValueError(f"program_search_episodes must be >= 1, got {program_search_episodes}")
        if not 0.0 <= selection_entropy < 1.0:
            raise ValueError(f"selection_entropy must be in [0, 1), got {selection_entropy}")
        if selection_penalty not in SELECTION_PENALTIES:
            raise ValueError(
                f"selection_penalty must be one of {SELECTION_PENALTIES}, got {selection_penalty!r}"
            )
        if selection_loss_cap is not None and not selection_loss_cap > 0:
            raise ValueError(
                f"selection_loss_cap must be positive or None, got {selection_loss_cap}"
            )
        self.selection_entropy = selection_entropy
        self.selection_penalty = selection_penalty
        self.selection_loss_cap = selection_loss_cap
        self.and_product = and_product
        self.operation_noise = operation_noise
        self.expected_extremes = expected_extremes
        self.program_search = program_search
        self.program_search_episodes = program_search_episodes
        self.gradient_noise = gradient_noise
        self.gradient_noise_decay = gradient_noise_decay
        #: The standard deviation of the noise the next backward pass adds (0: none).
        self._noise_std = 0.0
        self.columns = columns
        self.steps = steps
        self.comparison_sharpness = comparison_sharpness
        self.bidirectional = bidirectional
        ops = len(OPERATIONS)
        #: The size of q and of the pivot keys Z.
        question_size = 2 * hidden_size if bidirectional else hidden_size
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=0)
        self.question_rnn = nn.RNN(
            embedding_size, hidden_size, nonlinearity="tanh", bidirectional=bidirectional
        )
        self.history = nn.Linear(2 * embedding_size + hidden_size, hidden_size)
        self.op_hidden = nn.Linear(question_size + hidden_size, hidden_size)
        self.col_hidden = nn.Linear(question_size + hidden_size, hidden_size)
        #: U (operation representations); P (column representations) is
        #: ``column_names(embedding(name))`` + ``col_embeddings`` (per position, from zero).
        self.op_embeddings = nn.Parameter(torch.randn(ops, hidden_size) * hidden_size**-0.5)
        self.column_names = nn.Linear(embedding_size, hidden_size, bias=False)
        self.col_embeddings = nn.Parameter(torch.zeros(columns, hidden_size))
        #: The embeddings fed back to the history RNN (c_t).
        self.op_inputs = nn.Parameter(torch.randn(ops, embedding_size) * 0.1)
        self.col_inputs = nn.Parameter(torch.randn(columns, embedding_size) * 0.1)
        #: The pivot queries of greater and lesser (the paper's U_op for those operations).
        self.pivot_queries = nn.Parameter(torch.randn(2, question_size) * question_size**-0.5)
        self.register_buffer("noise_step", torch.zeros((), dtype=torch.long))
        if gradient_noise > 0:
            register_gradient_noise(self, lambda: self._noise_std)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Models saved before the columns were read from their names: P was col_embeddings
        # alone, which a zero name map keeps.
        key = f"{prefix}column_names.weight"
        if key not in state_dict and f"{prefix}col_embeddings" in state_dict:
            state_dict[key] = torch.zeros_like(self.column_names.weight)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def noise_std(self, step: int) -> float:
        """σ_t = sqrt(η / (1 + t)^γ), the gradient noise at training step t (0 without noise)."""
        return gradient_noise_std(self.gradient_noise, step, self.gradient_noise_decay)

    def encode(self, batch: TableBatch) -> tuple[Tensor, Tensor]:
        """The question vector q (B, H') and the pivot keys Z (B, K, H'); H' = H, or 2H with
        ``bidirectional``."""
        words = self.embedding(batch.question)  # (Q, B, E)
        if self.bidirectional:
            # Packed, so that the backward RNN starts at each question's last word, not at padding.
            lengths = batch.question_lengths.clamp_min(1).cpu()
            packed = nn.utils.rnn.pack_padded_sequence(words, lengths, enforce_sorted=False)
            states, _ = nn.utils.rnn.pad_packed_sequence(
                self.question_rnn(packed)[0], total_length=words.shape[0]
            )
        else:
            states, _ = self.question_rnn(words)  # (Q, B, H')
        states = states.transpose(0, 1)  # (B, Q, H')
        last = (batch.question_lengths - 1).clamp_min(0)
        q = states[torch.arange(states.shape[0], device=states.device), last]
        if self.bidirectional:
            hidden = self.question_rnn.hidden_size
            q = torch.cat([q[:, :hidden], states[:, 0, hidden:]], -1)
        left = (batch.number_positions - 1).clamp_min(0)
        keys = states.gather(1, left.unsqueeze(-1).expand(-1, -1, states.shape[-1]))
        return q, keys

    def forward(
        self, batch: TableBatch, hard: bool = False, trace: Trace | None = None
    ) -> tuple[ProgramOutputs, dict[str, Any]]:
        """Run T steps; returns the answers and ``{"alpha_op": (T, B, O), "alpha_col": (T, B,
        C + K), "log_alpha_op", "log_alpha_col"`` (the soft selections' logs, in training
        with ``program_search`` and not ``hard``; None otherwise), ``"pivots": (B, 2),
        "matches": (B, R, K) or None}``. Emits
        ``operation_weights``, ``column_weights`` and ``pivots`` per step."""
        if trace is None:
            return self._run(batch, hard, None)
        with tracing(trace):
            result = self._run(batch, hard, trace)
        trace.finish()
        return result

    def _run(
        self, batch: TableBatch, hard: bool, trace: Trace | None
    ) -> tuple[ProgramOutputs, dict[str, Any]]:
        table, row_mask = batch.table, batch.row_mask
        width = table.shape[-1] + batch.text_table.shape[-1]
        if width != self.columns:
            raise ValueError(f"model built for {self.columns} columns, table has {width}")
        matches = None
        # Operations the table cannot use get −∞ scores (text_match without text columns).
        op_mask = torch.zeros(len(OPERATIONS), dtype=table.dtype, device=table.device)
        if batch.text_table.shape[-1]:
            matches = text_matches(batch.question, batch.text_table)
        else:
            op_mask[OP["text_match"]] = -torch.inf
        q, keys = self.encode(batch)
        columns = self.column_names(self.embedding(batch.column_words)) + self.col_embeddings
        pivots = torch.stack(
            [
                pivot(keys, batch.question_numbers, batch.number_mask, self.pivot_queries[i])
                for i in range(2)
            ],
            -1,
        )
        state = initial_state(row_mask, table.shape[-1])
        # The table's order for the soft max and min is the same at every step.
        extremes = ExpectedExtremes(table) if self.expected_extremes and not hard else extreme_rows
        and_rows = product_and if self.and_product else logical_and
        b = q.shape[0]
        h = q.new_zeros(b, self.history.out_features)
        c = q.new_zeros(b, self.history.in_features - self.history.out_features)
        alphas_op, alphas_col, logs_op, logs_col = [], [], [], []
        # The selections' logs serve program search alone, which runs in training.
        searching = self.program_search > 0 and self.training and not hard
        for _ in range(self.steps):
            h = torch.tanh(self.history(torch.cat([c, h], -1)))
            qh = torch.cat([q, h], -1)
            op_scores = torch.tanh(self.op_hidden(qh)) @ self.op_embeddings.T + op_mask
            if self.operation_noise > 0 and self.training and not hard:
                op_scores = noisy_scores(op_scores, self.operation_noise)
            alpha_op = torch.softmax(op_scores, -1)
            col_query = torch.tanh(self.col_hidden(qh))
            col_scores = torch.einsum("bh,bch->bc", col_query, columns)
            alpha_col = torch.softmax(col_scores, -1)
            if searching:
                logs_op.append(torch.log_softmax(op_scores, -1))
                logs_col.append(torch.log_softmax(col_scores, -1))
            if hard:
                alpha_op = F.one_hot(alpha_op.argmax(-1), alpha_op.shape[-1]).to(q.dtype)
                alpha_col = F.one_hot(alpha_col.argmax(-1), alpha_col.shape[-1]).to(q.dtype)
            emit("operation_weights", alpha_op)
            emit("column_weights", alpha_col)
            emit("pivots", pivots)
            if trace is not None:
                trace.next_step()
            state = program_step(
                alpha_op,
                alpha_col,
                state,
                table,
                row_mask,
                pivots[:, 0],
                pivots[:, 1],
                self.comparison_sharpness,
                hard,
                matches,
                and_rows,
                extremes,
            )
            c = torch.cat([alpha_op @ self.op_inputs, alpha_col @ self.col_inputs], -1)
            alphas_op.append(alpha_op)
            alphas_col.append(alpha_col)
        outputs = ProgramOutputs(scalar=state.scalars[:, 0], lookup=state.lookup)
        return outputs, {
            "alpha_op": torch.stack(alphas_op),
            "alpha_col": torch.stack(alphas_col),
            "log_alpha_op": torch.stack(logs_op) if searching else None,
            "log_alpha_col": torch.stack(logs_col) if searching else None,
            "pivots": pivots,
            "matches": matches,
        }

    def loss(self, task: Any, batch: TableBatch) -> tuple[Tensor, Tensor]:
        """(total, task loss): the mean over episodes of the task's loss on the soft program's
        answers; with ``selection_entropy`` β > 0 the total is the mean of each episode's
        :func:`~augrnn.programmer.regularisers.penalised_losses`, and in training mode with
        ``program_search`` λ > 0 it adds λ ·
        :func:`~augrnn.programmer.regularisers.program_search_loss`.

        In training mode with gradient noise, counts a step and sets the noise of the next
        backward pass."""
        self._noise_std = 0.0
        if self.training and self.gradient_noise > 0:
            self._noise_std = self.noise_std(int(self.noise_step))
            self.noise_step += 1
        outputs, info = self(batch)
        losses = task.loss_per_example(outputs, batch)
        task_loss = total = losses.mean()
        if self.selection_entropy > 0:
            total = penalised_losses(
                losses,
                info["alpha_op"],
                info["alpha_col"],
                self.selection_entropy,
                self.selection_penalty,
                self.selection_loss_cap,
            ).mean()
        if self.training and self.program_search > 0:
            search = program_search_loss(info, batch, self.program_search_episodes)
            total = total + self.program_search * search
        return total, task_loss

    def evaluation_outputs(self, batch: TableBatch) -> ProgramOutputs:
        """The answers scored in evaluation: the argmax program's, as at the paper's test time,
        with that program (``ops``, ``columns``: (B, T); ``pivots``: (B, 2)) and the soft
        program's answers."""
        hard, info = self(batch, hard=True)
        soft, _ = self(batch, hard=False)
        return ProgramOutputs(
            scalar=hard.scalar,
            lookup=hard.lookup,
            ops=info["alpha_op"].argmax(-1).T,
            columns=info["alpha_col"].argmax(-1).T,
            soft_scalar=soft.scalar,
            soft_lookup=soft.lookup,
            pivots=info["pivots"],
        )

    def traced(self, batch: TableBatch) -> tuple[ProgramOutputs, Trace]:
        """:meth:`evaluation_outputs` and a Trace of the soft program's selections: per step
        ``operation_weights`` (B, O), ``column_weights`` (B, C + K) and ``pivots`` (B, 2)."""
        trace = Trace()
        self(batch, hard=False, trace=trace)
        return self.evaluation_outputs(batch), trace

    def describe_example(self, task: Any, batch: TableBatch, index: int) -> list[str]:
        """The argmax program that episode ``index`` ran."""
        return [f"program: {self.program(batch, index, task.column_names)}"]

    @torch.no_grad()
    def program(
        self, batch: TableBatch, index: int = 0, column_names: Sequence[str] | None = None
    ) -> str:
        """The argmax program of episode ``index`` as text, e.g.
        ``reset -> reset -> greater(col="price", pivot=50) -> sum(col="price")``."""
        _, info = self(batch, hard=True)
        names = column_names or [f"col{j}" for j in range(self.columns)]
        return program_text(
            info["alpha_op"][:, index].argmax(-1).tolist(),
            info["alpha_col"][:, index].argmax(-1).tolist(),
            info["pivots"][index].tolist(),
            names,
        )


def program_text(
    ops: Sequence[int], columns: Sequence[int], pivots: Sequence[float], names: Sequence[str]
) -> str:
    """A program as text: operation indices and column indices per step (T each), the pivots
    of greater and lesser (2,), and the columns' names."""
    steps = []
    for op_index, col_index in zip(ops, columns, strict=True):
        op, col = OPERATIONS[op_index], names[col_index]
        if op in ("greater", "lesser"):
            value = pivots[0] if op == "greater" else pivots[1]
            steps.append(f'{op}(col="{col}", pivot={value:g})')
        elif op in ("sum", "max", "min", "print", "text_match"):
            steps.append(f'{op}(col="{col}")')
        else:
            steps.append(op)
    return " -> ".join(steps)


@dataclass
class NeuralProgrammerConfig(ModelConfig):
    """The Neural Programmer (model kind ``programmer``): the keyword arguments of
    :class:`NeuralProgrammer` with its defaults, the paper's method (the options not in the
    paper are off: :mod:`augrnn.programmer.regularisers`); the vocabulary and the number of
    columns are the task's."""

    embedding_size: int = 64
    hidden_size: int = 128
    #: T, the number of program steps.
    steps: int = 4
    #: k of the soft comparisons σ(k (T − pivot ∓ ½)) of greater / lesser.
    comparison_sharpness: float = 20.0
    #: η and γ of the decaying gradient noise N(0, η / (1 + t)^γ) (η = 0: none).
    gradient_noise: float = 0.0
    gradient_noise_decay: float = 0.55
    #: Read the question with a bidirectional RNN (the paper's choice for longer questions).
    bidirectional: bool = False
    #: Not in the paper (see augrnn.programmer.regularisers): the selection penalty's β, what
    #: it weighs ("entropy" or "uniform_kl") and the cap on the loss in its weight.
    selection_entropy: float = 0.0
    selection_penalty: str = "entropy"
    selection_loss_cap: float | None = None
    #: Not in the paper: ``and`` as the product of the row selectors.
    and_product: bool = False
    #: Not in the paper: σ of the noise on the operation scores in training.
    operation_noise: float = 0.0
    #: Not in the paper: max and min as the chance of holding the extreme of a drawn selection.
    expected_extremes: bool = False
    #: Not in the paper: λ of −log P(answer) over every program, on the first
    #: ``program_search_episodes`` episodes of each batch.
    program_search: float = 0.0
    program_search_episodes: int = 16

    RANGES: ClassVar[dict[str, Range]] = {
        "embedding_size": at_least(1),
        "hidden_size": at_least(1),
        "steps": at_least(1),
        "comparison_sharpness": above(0),
        "gradient_noise": at_least(0),
        "gradient_noise_decay": at_least(0),
        "selection_entropy": at_least(0),
        "selection_loss_cap": above(0),
        "operation_noise": at_least(0),
        "program_search": at_least(0),
        "program_search_episodes": at_least(1),
    }


def build_programmer(
    config: NeuralProgrammerConfig, input_size: int, output_size: int
) -> NeuralProgrammer:
    """The Neural Programmer over ``input_size`` word ids and tables of ``output_size``
    columns."""
    return NeuralProgrammer(input_size, output_size, **dataclasses.asdict(config))
