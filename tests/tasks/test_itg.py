"""The ITG transduction tasks: sentences of exactly the drawn length, their SOV reordering and
their gendered articles, the episode layout of the transduction tasks, and bad settings."""

import random
from collections import Counter

import pytest
import torch

from augrnn.tasks.itg import (
    GENDERED,
    MAX_ADJECTIVES,
    RELATIVE,
    SHORTEST,
    GenderConjugationTask,
    ItgConfig,
    NounPhrase,
    SvoSovTask,
    Vocabulary,
    clause_counts,
    draw_sentence,
    sentence_words,
)


def words_of(task, batch, b):
    """The source and target words of episode b."""
    length = int(batch.lengths[b])
    source = batch.inputs[1 : length + 1, b].argmax(-1).tolist()
    scored = batch.mask[:, b] > 0
    target = batch.targets[scored, b, 0].tolist()
    assert target[-1] == task.end
    return [task.word(t) for t in source], [task.word(t) for t in target[:-1]]


@pytest.mark.parametrize("length", range(SHORTEST, 140))
def test_every_length_has_clause_counts_that_make_it(length):
    counts = clause_counts(length)
    assert len(counts) > 0
    for k in counts:
        adjectives = length - SHORTEST - 4 * k
        assert 0 <= adjectives <= MAX_ADJECTIVES * (2 + k)
    # One clause more or less than the range cannot make the length.
    for k in (counts.start - 1, counts.stop):
        if k >= 0:
            adjectives = length - SHORTEST - 4 * k
            assert not 0 <= adjectives <= MAX_ADJECTIVES * (2 + k)


def test_the_sov_order_closes_nested_clauses_in_reverse():
    n = [NounPhrase("the", [], f"n{i}") for i in range(4)]
    n[0].clause_verb, n[0].clause_object = "v1", n[1]
    n[1].clause_verb, n[1].clause_object = "v2", n[2]
    sentence = (n[0], "v3", n[3])
    assert " ".join(sentence_words(sentence)) == "the n0 who v1 the n1 who v2 the n2 v3 the n3"
    assert " ".join(sentence_words(sentence, verb_last=True)) == (
        "the n0 who the n1 who the n2 v2 v1 the n3 v3"
    )
    assert " ".join(sentence_words(sentence, gendered=True)) == (
        "der n0 who v1 die n1 who v2 das n2 v3 der n3"
    )


def test_draws_have_the_length_asked_for_and_every_grammar_rule():
    vocabulary = Vocabulary(4, 3, 2)
    rng = random.Random(0)
    seen_clause_on = Counter()
    for length in range(SHORTEST, 80):
        for _ in range(5):
            subject, _, obj = draw_sentence(vocabulary, length, rng)
            assert len(sentence_words((subject, "v0", obj))) == length
            seen_clause_on["subject"] += subject.clause_object is not None
            seen_clause_on["object"] += obj.clause_object is not None
    assert seen_clause_on["subject"] > 50 and seen_clause_on["object"] > 50


@pytest.mark.parametrize("task_class", [SvoSovTask, GenderConjugationTask])
def test_episodes_are_a_sentence_then_its_transduction(task_class):
    task = task_class(ItgConfig(min_length=5, max_length=30, nouns=6, verbs=4, adjectives=3))
    assert task.symbols == 7 + 1 + 6 + 4 + 3
    assert task.input_size == task.symbols + 3 and task.classes == task.symbols + 1
    batch = task.sample(60, torch.Generator().manual_seed(0))
    assert batch.lengths.min() >= 5 and batch.lengths.max() <= 30
    longest = int(batch.lengths.max())
    assert batch.inputs.shape == (2 * longest + 3, 60, task.input_size)
    for b in range(60):
        source, target = words_of(task, batch, b)
        assert len(source) == len(target) == int(batch.lengths[b])
        assert any(w.startswith("v") for w in source)
        assert set(source) <= set(task.vocabulary.words) - {"der", "die", "das", "ein", "eine"}
        if task_class is SvoSovTask:
            assert Counter(source) == Counter(target)
            assert target[-1].startswith("v")
        else:
            for i, (word, written) in enumerate(zip(source, target, strict=True)):
                if word in GENDERED:
                    noun = next(w for w in source[i:] if w.startswith("n"))
                    assert written == GENDERED[word][int(noun[1:]) % 3]
                else:
                    assert written == word


def test_sov_verbs_follow_their_objects():
    task = SvoSovTask(ItgConfig(min_length=40, max_length=60))
    batch = task.sample(20, torch.Generator().manual_seed(1))
    for b in range(20):
        source, target = words_of(task, batch, b)
        # Each clause's verb closes it: as many verbs in a row at the end of each nest as its
        # depth; in all, a verb never follows "who" directly in SOV, always in SVO.
        follows_who = [target[i + 1] for i, w in enumerate(target[:-1]) if w == RELATIVE]
        assert all(w in ("the", "a") for w in follows_who)
        follows_who = [source[i + 1] for i, w in enumerate(source[:-1]) if w == RELATIVE]
        assert all(w.startswith("v") for w in follows_who)


def test_same_seed_same_batch_and_fixed_lengths():
    task = GenderConjugationTask()
    a = task.sample(8, torch.Generator().manual_seed(5))
    b = task.sample(8, torch.Generator().manual_seed(5))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    fixed = task.sample(3, torch.Generator().manual_seed(0), length=100)
    assert fixed.lengths.tolist() == [100, 100, 100]
    assert "a sentence of 100 words" in task.render(fixed)


def test_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match="min_length <= max_length"):
        ItgConfig(min_length=20, max_length=10)
    with pytest.raises(ValueError, match="min_length"):
        ItgConfig(min_length=4)
    with pytest.raises(ValueError, match="source length >= 5, got 3"):
        SvoSovTask().sample(2, torch.Generator(), length=3)
