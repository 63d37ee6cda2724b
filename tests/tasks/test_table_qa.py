import pytest
import torch

from augrnn.programmer.operations import run_program
from augrnn.tasks import get_task_class
from augrnn.tasks.table_qa import (
    COLUMN_NAMES,
    NUMBER,
    QUESTION_TYPES,
    TableOutputs,
    TableQAConfig,
    TableQATask,
)


def _task(**kw) -> TableQATask:
    return TableQATask(TableQAConfig(**kw))


def _pivots(batch):
    last = (batch.number_mask.sum(-1).long() - 1).clamp_min(0)
    lesser = batch.question_numbers.gather(1, last[:, None]).squeeze(1)
    return batch.question_numbers[:, 0], lesser


def test_registered_and_seeded():
    assert get_task_class("table_qa") is TableQATask
    task = _task(columns=3)
    a = task.sample(6, torch.Generator().manual_seed(3))
    b = task.sample(6, torch.Generator().manual_seed(3))
    c = task.sample(6, torch.Generator().manual_seed(4))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(x.shape == y.shape and torch.equal(x, y) for x, y in zip(a, c, strict=True))


@pytest.mark.parametrize("columns", [1, 3])
def test_answers_are_the_templates_programs_executed_on_the_table(columns):
    task = _task(columns=columns, min_rows=30, max_rows=100)
    for seed in range(4):
        batch = task.sample(64, torch.Generator().manual_seed(seed))
        gt, lt = _pivots(batch)
        state = run_program(
            batch.program_ops, batch.program_columns, batch.table, batch.row_mask, gt, lt
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
    assert set(batch.question_type.tolist()) == set(range(len(QUESTION_TYPES)))
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
