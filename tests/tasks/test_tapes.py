"""The RL-NTM's tape tasks: each target from its tape as the paper defines it, ∅ endings, the
step budget, and the error over the targets."""

import pytest
import torch

from augrnn.tasks.tapes import (
    EMPTY,
    TAPE_TASKS,
    DuplicatedInputTask,
    ForwardReverseTask,
    RepeatCopyTask,
    TapeCopyTask,
    TapeReverseTask,
    TapeTaskConfig,
)


def expected_target(task, tape: list[int]) -> list[int]:
    if isinstance(task, DuplicatedInputTask):
        return tape[::3]
    if isinstance(task, TapeReverseTask):
        return tape[::-1]
    if isinstance(task, RepeatCopyTask):
        return tape[1:] * (tape[0] - task.config.symbols + 1)
    return tape


@pytest.mark.parametrize("task_class", TAPE_TASKS)
def test_every_target_follows_from_its_tape(task_class):
    task = task_class(TapeTaskConfig(min_length=1, max_length=7, symbols=5))
    batch = task.sample(30, torch.Generator().manual_seed(2))
    assert batch.forward_only == (task_class is ForwardReverseTask)
    for b in range(30):
        cells, targets = int(batch.tape_lengths[b]), int(batch.mask[:, b].sum())
        tape = batch.tape[:cells, b].tolist()
        target = batch.targets[:targets, b].tolist()
        assert tape[-1] == EMPTY and target[-1] == EMPTY and EMPTY not in tape[:-1]
        assert target[:-1] == expected_target(task, tape[:-1])
        assert bool((batch.tape[cells:, b] == EMPTY).all())
        assert int(batch.budgets[b]) == cells + targets
    assert batch.steps == int(batch.budgets.max())
    assert int(batch.tape.max()) < task.alphabet


def test_repeat_copy_writes_two_or_three_copies_and_its_count_is_a_symbol_of_its_own():
    task = RepeatCopyTask(TapeTaskConfig(min_length=3, max_length=3, symbols=4))
    batch = task.sample(40, torch.Generator().manual_seed(0), length=3)
    assert task.alphabet == 7
    assert set(batch.tape[0].tolist()) == {5, 6}
    assert set(batch.mask.sum(0).long().tolist()) == {7, 10}


def test_the_error_counts_wrong_target_symbols():
    task = TapeCopyTask(TapeTaskConfig(min_length=2, max_length=2, symbols=4))
    batch = task.sample(4, torch.Generator().manual_seed(0))
    right = torch.nn.functional.one_hot(batch.targets, task.alphabet).float() * 20
    assert task.metrics(right, batch)["sequence_error_rate"] == 0.0
    right[0, 1] = right[0, 1].roll(1, dims=-1)
    metrics = task.metrics(right, batch)
    assert metrics["symbol_error_rate"] == pytest.approx(1 / 12)
    assert metrics["sequence_error_rate"] == pytest.approx(1 / 4)
    with pytest.raises(ValueError, match=r"\(K, B, alphabet\)"):
        task.metrics(right[:2], batch)


def test_render_shows_the_tapes():
    task = DuplicatedInputTask(TapeTaskConfig(min_length=2, max_length=2, symbols=4))
    text = task.render(task.sample(1, torch.Generator().manual_seed(3)))
    lines = text.splitlines()
    assert lines[0] == "C = 2, 10 steps"
    assert lines[1].split()[1:] == [lines[2].split()[1]] * 3 + [lines[2].split()[2]] * 3 + ["∅"]
    assert lines[2].endswith("∅")
