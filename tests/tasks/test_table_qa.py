import pytest
import torch

from augrnn.registry import task_class
from augrnn.table_operations import OPERATIONS, run_program, text_matches
from augrnn.tasks.table_qa import (
    COLUMN_NAMES,
    COLUMN_OPERATIONS,
    NUMBER,
    PHRASINGS,
    QUESTION_TYPES,
    TEMPLATES,
    TEXT_COLUMNS,
    WORDS_PER_TEXT_COLUMN,
    TableOutputs,
    TableQAConfig,
    TableQATask,
    _words,
)
from augrnn.train.evaluation import evaluate


def _task(**kw) -> TableQATask:
    return TableQATask(TableQAConfig(**kw))


def _pivots(batch):
    last = (batch.number_mask.sum(-1).long() - 1).clamp_min(0)
    lesser = batch.question_numbers.gather(1, last[:, None]).squeeze(1)
    return batch.question_numbers[:, 0], lesser


def test_registered_and_seeded():
    assert task_class("table_qa") is TableQATask
    task = _task(columns=3)
    a = task.sample(6, torch.Generator().manual_seed(3))
    b = task.sample(6, torch.Generator().manual_seed(3))
    c = task.sample(6, torch.Generator().manual_seed(4))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(x.shape == y.shape and torch.equal(x, y) for x, y in zip(a, c, strict=True))


@pytest.mark.parametrize(
    "settings",
    [
        {"columns": 1},
        {"columns": 3},
        {"columns": 5, "word_variability": True},
        {"columns": 2, "text_columns": 3, "word_variability": True},
        {"columns": 3, "phrasings": "heldout"},
        {"columns": 2, "text_columns": 3, "phrasings": "heldout"},
    ],
)
def test_answers_are_the_templates_programs_executed_on_the_table(settings):
    task = _task(min_rows=30, max_rows=100, **settings)
    for seed in range(4):
        batch = task.sample(64, torch.Generator().manual_seed(seed))
        gt, lt = _pivots(batch)
        matches = (
            text_matches(batch.question, batch.text_table) if task.config.text_columns else None
        )
        state = run_program(
            batch.program_ops,
            batch.program_columns,
            batch.table,
            batch.row_mask,
            gt,
            lt,
            matches,
        )
        scalar = batch.is_lookup == 0
        assert torch.equal(state.scalars[scalar, 0], batch.answer_scalar[scalar])
        assert torch.equal(state.lookup[~scalar], batch.answer_lookup[~scalar])
        outputs = TableOutputs(state.scalars[:, 0], state.lookup)
        metrics = task.metrics(outputs, batch)
        assert metrics["accuracy"] == 1.0 and metrics["error_rate"] == 0.0
        assert task.loss(outputs, batch).item() < 1e-3


def test_shapes_rows_and_value_ranges_for_training_and_evaluation():
    task = _task(columns=3, min_rows=30, max_rows=100)
    gen = torch.Generator().manual_seed(0)
    batch = task.sample(128, gen)
    rows = batch.row_mask.sum(-1)
    assert rows.min() >= 30 and rows.max() <= 100
    assert batch.table.shape == (128, int(rows.max()), 3) and batch.mask.shape == (1, 128)
    assert batch.table.abs().max() <= 100 and batch.question_numbers.abs().max() <= 100
    assert torch.equal(batch.table, batch.table.round())
    evaluation = task.sample_evaluation(128, gen)
    assert evaluation.table.abs().max() <= 200 and evaluation.table.abs().max() > 100
    assert task.sample(4, gen, length=7).row_mask.sum(-1).tolist() == [7.0] * 4
    assert {QUESTION_TYPES[k] for k in batch.question_type.tolist()} == set(task.question_types)
    assert not any(TEMPLATES[q].needs_text for q in task.question_types)
    assert torch.equal(batch.steps_mask(), batch.mask)
    assert batch.to("cpu").table is not None


def test_vocabulary_numbers_and_question_text():
    task = _task(columns=3)
    vocab = task.vocab
    assert NUMBER in vocab.symbols and set(COLUMN_NAMES) <= set(vocab.symbols)
    assert task.input_size == len(vocab) and task.output_size == 3
    batch = task.sample(32, torch.Generator().manual_seed(1))
    number_id = vocab.encode([NUMBER])[0]
    for i in range(32):
        count = int(batch.number_mask[i].sum())
        positions = batch.number_positions[i, :count]
        assert (batch.question[positions, i] == number_id).all()
        assert int((batch.question[:, i] == number_id).sum()) == count
        text = task.question_text(batch, i)
        assert NUMBER not in text
        for value in batch.question_numbers[i, :count].tolist():
            assert f"{value:g}" in text.split()
    assert "question:" in task.render(batch, 0)


def test_question_types_setting_and_errors():
    task = _task(question_types="sum, greatest")
    batch = task.sample(32, torch.Generator().manual_seed(0))
    kinds = {QUESTION_TYPES[k] for k in batch.question_type.tolist()}
    assert kinds == {"sum", "greatest"}
    assert set(task.metrics(TableOutputs(batch.answer_scalar, batch.answer_lookup), batch)) == {
        "loss",
        "accuracy",
        "error_rate",
        "accuracy_sum",
        "accuracy_greatest",
    }
    with pytest.raises(ValueError, match="unknown table_qa question types"):
        _task(question_types="sum,nope")
    with pytest.raises(ValueError):
        _task(columns=0)
    with pytest.raises(ValueError):
        _task(min_rows=10, max_rows=5)


def test_loss_is_huber_and_weighted_log_loss():
    task = _task(huber_delta=10.0, lookup_weight=50.0, question_types="sum,least")
    batch = task.sample(16, torch.Generator().manual_seed(0))
    truth = TableOutputs(batch.answer_scalar, batch.answer_lookup)
    off = TableOutputs(batch.answer_scalar + 3.0, batch.answer_lookup)
    far = TableOutputs(batch.answer_scalar + 30.0, batch.answer_lookup)
    scalar = batch.is_lookup == 0
    assert torch.allclose(task.loss_per_example(off, batch)[scalar], torch.tensor(4.5))
    assert torch.allclose(task.loss_per_example(far, batch)[scalar], torch.tensor(250.0))
    assert task.metrics(off, batch)["accuracy"] == pytest.approx(1 - scalar.float().mean().item())
    wrong = TableOutputs(batch.answer_scalar, 1.0 - batch.answer_lookup)
    lookup_loss = task.loss_per_example(wrong, batch)[~scalar]
    assert (lookup_loss > 50 * 10).all()
    assert task.loss_per_example(truth, batch).max() < 1e-3


def test_answer_scaled_error_shrinks_only_answers_beyond_the_entry_range():
    task = _task(huber_delta=1000.0, question_types="sum,count", answer_scaled_error=True)
    batch = task.sample(64, torch.Generator().manual_seed(0))
    off = TableOutputs(batch.answer_scalar + 10.0, batch.answer_lookup)
    size = batch.answer_scalar.abs()
    expected = 0.5 * (10.0 * torch.clamp(100.0 / size, max=1.0)) ** 2
    assert (size > 100).any() and (size <= 100).any()
    assert torch.allclose(task.loss_per_example(off, batch), expected)


class _AnswersSums(torch.nn.Module):
    """Answers every "sum" question right and every other question 1 off."""

    def evaluation_outputs(self, batch):
        is_sum = batch.question_type == QUESTION_TYPES.index("sum")
        return TableOutputs(batch.answer_scalar + (~is_sum).float(), 1.0 - batch.answer_lookup)


def test_per_type_accuracy_leaves_out_absent_types_and_pools_exactly():
    task = _task(question_types="sum,count,least")
    gen = torch.Generator().manual_seed(0)
    only_sums = _task(question_types="sum").sample(40, gen)
    metrics = task.metrics(_AnswersSums().evaluation_outputs(only_sums), only_sums)
    assert metrics["accuracy_sum"] == 1.0 and "accuracy_count" not in metrics
    outputs = _AnswersSums().evaluation_outputs(only_sums)
    assert task.metric_weights(only_sums, outputs)["accuracy_sum"] == 40.0
    assert "accuracy_count" not in task.metric_weights(only_sums, outputs)
    mixed = task.sample(200, gen)
    mixed_sums = int((mixed.question_type == QUESTION_TYPES.index("sum")).sum())
    pooled = evaluate(_AnswersSums(), task, [only_sums, mixed], "cpu")
    assert pooled["accuracy_sum"] == 1.0
    assert pooled["accuracy_count"] == 0.0 and pooled["accuracy_least"] == 0.0
    assert pooled["accuracy"] == pytest.approx((40 + mixed_sums) / 240)


def test_intended_program_compares_operations_and_the_columns_they_read():
    task = _task(columns=3)
    batch = task.sample(64, torch.Generator().manual_seed(2))
    ops, cols = batch.program_ops.clone(), batch.program_columns.clone()
    assert TableQATask.intended_program(ops, cols, batch).all()
    # A column on a step whose operation reads none (reset, count, and, difference) is free.
    free = ~torch.isin(ops, torch.tensor([OPERATIONS.index(o) for o in COLUMN_OPERATIONS]))
    moved = torch.where(free, (cols + 1) % 3, cols)
    assert TableQATask.intended_program(ops, moved, batch).all()
    other_column = torch.where(~free, (cols + 1) % 3, cols)
    changed = (~free).any(-1)
    assert not TableQATask.intended_program(ops, other_column, batch)[changed].any()
    other_op = ops.clone()
    other_op[:, -1] = (ops[:, -1] + 1) % len(OPERATIONS)
    assert not TableQATask.intended_program(other_op, cols, batch).any()
    # Scored among the right answers only, with soft-selection accuracy beside the hard one.
    truth = TableOutputs(
        batch.answer_scalar,
        batch.answer_lookup,
        other_op,
        cols,
        batch.answer_scalar + 1,
        batch.answer_lookup,
    )
    metrics = task.metrics(truth, batch)
    assert metrics["program_intended"] == 0.0 and metrics["accuracy"] == 1.0
    lookups = batch.is_lookup.mean().item()
    assert metrics["soft_accuracy"] == pytest.approx(lookups)
    assert metrics["soft_accuracy_greatest"] == 1.0
    assert task.metric_weights(batch, truth)["program_intended"] == 64.0


def test_word_variability_and_text_columns_settings():
    plain = _task(columns=2).sample(200, torch.Generator().manual_seed(0))
    varied_task = _task(columns=2, word_variability=True)
    varied = varied_task.sample(200, torch.Generator().manual_seed(0))
    first_words = {
        varied_task.question_text(b, i).split()[0] for b in (varied,) for i in range(200)
    }
    plain_first = {_task(columns=2).question_text(plain, i).split()[0] for i in range(200)}
    assert plain_first == {"what", "how"} and {"count", "sum", "print"} <= first_words
    text_task = _task(columns=2, text_columns=2)
    assert text_task.output_size == 4
    assert text_task.column_names == ("price", "qty", "color", "city")
    batch = text_task.sample(300, torch.Generator().manual_seed(0))
    assert batch.text_table.shape == (*batch.row_mask.shape, 2)
    assert ((batch.text_table != 0) == (batch.row_mask[..., None] > 0)).all()
    textual = {QUESTION_TYPES[k] for k in batch.question_type.tolist()}
    assert {"sum_text", "count_text", "greatest_text"} <= textual
    # A text question names one word of its column, and some row holds it.
    text_step = batch.program_ops == OPERATIONS.index("text_match")
    for i in text_step.any(-1).nonzero().flatten().tolist():
        column = int(batch.program_columns[i][text_step[i]]) - 2
        asked = set(batch.question[:, i].tolist())
        assert asked & set(batch.text_table[i, :, column].tolist())
    with pytest.raises(ValueError, match="need text_columns"):
        _task(question_types="count_text")
    with pytest.raises(ValueError, match="text_columns must be"):
        _task(text_columns=4)


def test_equivalent_program_runs_both_programs_on_fresh_tables():
    task = _task(columns=2, question_types="sum,count_greater,greatest")
    batch = task.sample(48, torch.Generator().manual_seed(5))
    gt, _ = _pivots(batch)
    pivots = torch.stack([gt, gt], -1)
    ops, cols = batch.program_ops, batch.program_columns
    assert task.equivalent_program(ops, cols, pivots, batch).all()

    def program(names):
        return torch.tensor([OPERATIONS.index(n) for n in names]).expand(48, -1)

    is_sum = batch.question_type == QUESTION_TYPES.index("sum")
    # sum(a) -> greater -> reset -> difference is scalar_1 − scalar_3 = sum(a): the same answer.
    other = program(["sum", "greater", "reset", "difference"])
    cols_a = cols[:, 3:4].expand(-1, 4)
    same = task.equivalent_program(other, cols_a, pivots, batch)
    assert same[is_sum].all() and not same[~is_sum].any()
    assert not TableQATask.intended_program(other, cols_a, batch)[is_sum].any()
    # A pivot off by 30 changes the count of a comparison on some fresh table.
    shifted = task.equivalent_program(ops, cols, pivots + 30, batch)
    assert shifted[is_sum].all() and not shifted[~is_sum & (batch.is_lookup == 0)].any()


def test_text_cells_are_drawn_row_by_row_one_draw_per_cell():
    # one call draws every column's cells, which needs as many words in each
    assert {len(words) for words in TEXT_COLUMNS.values()} == {WORDS_PER_TEXT_COLUMN}
    # The stream every published figure was trained on: the row count, the numeric entries,
    # then one draw per text cell, row by row, column by column.
    task = _task(columns=2, text_columns=3, min_rows=5, max_rows=9)
    batch = task.sample(1, torch.Generator().manual_seed(3))
    generator = torch.Generator().manual_seed(3)
    rows = int(torch.randint(5, 10, (1,), generator=generator))
    values = torch.randint(-100, 101, (rows, 2), generator=generator).float()
    names = ("color", "city", "brand")
    words = [
        [TEXT_COLUMNS[name][int(torch.randint(0, 6, (1,), generator=generator))] for name in names]
        for _ in range(rows)
    ]
    assert torch.equal(batch.table[0, :rows], values)
    assert batch.text_table[0, :rows].tolist() == [task.vocab.encode(row) for row in words]


def _placeholders(text):
    return sorted(w for w in text.split() if w.startswith("{")), text.split().count(NUMBER)


def test_heldout_phrasings_are_disjoint_rewordings_of_known_words():
    trained = {text for template in TEMPLATES.values() for text in template.phrasings}
    for kind, template in TEMPLATES.items():
        assert len(template.heldout) >= 2, kind
        # Never a training phrasing, of this type or another.
        assert not set(template.heldout) & trained, kind
        # The same slots and as many numbers as the question they reword.
        for text in template.heldout:
            assert _placeholders(text) == _placeholders(template.phrasings[0]), text
    # They add no word: the word ids, and the size of a trained model's embedding table, are
    # those of the runs trained before them.
    assert len(_words()) == 72 and len(TableQATask.vocab) == 75
    assert _words()[:3] == ("what", "is", "the") and _words()[-1] == "vertex"


def test_heldout_setting_draws_only_heldout_phrasings():
    task = _task(columns=2, text_columns=1, phrasings="heldout")
    batch = task.sample(300, torch.Generator().manual_seed(0))
    asked = set()
    for i in range(300):
        words = task.vocab.decode(batch.question[: int(batch.question_lengths[i]), i]).split()
        template = TEMPLATES[QUESTION_TYPES[int(batch.question_type[i])]]
        matches = [
            text
            for text in template.heldout
            if len(text.split()) == len(words)
            and all(t == w or t.startswith("{") for t, w in zip(text.split(), words, strict=True))
        ]
        assert matches, " ".join(words)
        asked.update(matches)
    heldout = {text for kind in task.question_types for text in TEMPLATES[kind].heldout}
    assert asked == heldout


def test_trained_phrasings_keep_the_random_stream():
    # Question types and a position-weighted sum of the question's word ids for seed 7, as
    # sampled before held-out phrasings existed: "trained" must give the same episodes.
    recorded = [
        ({"columns": 3}, [9, 7, 8, 9, 7, 0, 8, 0, 6, 0, 5, 6], 84857),
        ({"columns": 1, "word_variability": True}, [7, 1, 6, 7, 6, 6, 1, 3, 6, 8, 2, 4], 56836),
        (
            {"columns": 2, "text_columns": 3, "word_variability": True},
            [8, 10, 10, 3, 7, 9, 0, 8, 5, 0, 11, 9],
            49437,
        ),
    ]
    for settings, types, weighted in recorded:
        task = _task(phrasings="trained", **settings)
        batch = task.sample(12, torch.Generator().manual_seed(7))
        q = batch.question
        weights = torch.arange(1, q.shape[0] + 1)[:, None] * torch.arange(1, q.shape[1] + 1)
        assert batch.question_type.tolist() == types
        assert int((q * weights).sum()) == weighted
    # Held-out phrasings take word variability's draw: the tables stay the same.
    trained = _task(columns=3, word_variability=True).sample(8, torch.Generator().manual_seed(1))
    heldout = _task(columns=3, phrasings="heldout").sample(8, torch.Generator().manual_seed(1))
    assert torch.equal(trained.table, heldout.table)
    assert torch.equal(trained.question_type, heldout.question_type)


def test_phrasings_setting_is_checked():
    assert PHRASINGS == ("trained", "heldout")
    with pytest.raises(ValueError, match="phrasings must be one of 'trained', 'heldout'"):
        _task(phrasings="held-out")
