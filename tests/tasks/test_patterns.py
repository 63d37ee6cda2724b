"""The pattern tasks of Joulin & Mikolov: the sequences, next-symbol targets, which targets are
scored (the deterministic ones), and bad settings."""

import pytest
import torch

from augrnn.tasks.patterns import PATTERN_TASKS as TASKS
from augrnn.tasks.patterns import (
    AnBmCnmTask,
    AnBnTask,
    BinaryAdditionTask,
    MemorisationTask,
    PatternConfig,
)


def episode(task, batch, b):
    """The sequence of episode b, its targets and the indices of its scored targets."""
    steps = int(batch.input_mask[:, b].sum())
    text = "".join(task.alphabet[i] for i in batch.inputs[:steps, b].argmax(-1).tolist())
    targets = "".join(task.alphabet[i] for i in batch.targets[:steps, b, 0].tolist())
    scored = (batch.mask[:, b] > 0).nonzero().flatten().tolist()
    return text, targets, scored


@pytest.mark.parametrize("task_class", TASKS, ids=lambda t: t.name)
def test_targets_are_the_next_symbols_and_padding_is_not_scored(task_class):
    task = task_class(PatternConfig(min_n=1, max_n=6))
    batch = task.sample(30, torch.Generator().manual_seed(0))
    assert batch.inputs.shape[1:] == (30, len(task.alphabet))
    for b in range(30):
        text, targets, scored = episode(task, batch, b)
        assert targets[:-1] == text[1:]
        assert scored and max(scored) < len(text)


def test_counting_languages_score_from_the_second_letter_on():
    task = AnBnTask(PatternConfig(min_n=3, max_n=3))
    batch = task.sample(2, torch.Generator().manual_seed(0))
    text, targets, scored = episode(task, batch, 0)
    assert text == "aaabbb" and targets == "aabbba"
    assert scored == [3, 4, 5]  # the second and third b, then the next sequence's a
    task = AnBmCnmTask(PatternConfig(min_n=2, max_n=2))
    text, _, scored = episode(task, task.sample(1, torch.Generator().manual_seed(3)), 0)
    n_plus_m = text.count("b") + 2
    assert text == "aa" + "b" * (n_plus_m - 2) + "c" * n_plus_m
    assert scored == list(range(text.index("c"), len(text)))


def test_memorisation_and_addition_score_what_follows_the_equals_sign():
    task = MemorisationTask(PatternConfig(min_n=4, max_n=4))
    for b in range(5):
        text, _, scored = episode(task, task.sample(5, torch.Generator().manual_seed(1)), b)
        x, reverse = text.split("=")
        assert reverse == x[::-1] and len(x) == 4
        assert scored == [4, 5, 6, 7]  # '=' and the reverse but its last symbol predict it
    task = BinaryAdditionTask(PatternConfig(min_n=5, max_n=5))
    batch = task.sample(20, torch.Generator().manual_seed(2))
    for b in range(20):
        text, _, scored = episode(task, batch, b)
        question, answer = text.split("=")
        x, y = (int(part, 2) for part in question.split("+"))
        assert len(question.split("+")[0]) == 5 and y < 32
        assert answer == f"{x + y:b}"[::-1] + "."
        assert scored == list(range(len(question), len(text) - 1))


def test_a_fixed_n_and_bad_settings():
    task = AnBnTask(PatternConfig(min_n=1, max_n=5))
    assert task.sample(3, torch.Generator(), length=40).lengths.tolist() == [40] * 3
    with pytest.raises(ValueError, match="min_n <= max_n"):
        PatternConfig(min_n=5, max_n=4)
    with pytest.raises(ValueError, match="anbn n must be >= 1, got 0"):
        task.sample(2, torch.Generator(), length=0)
