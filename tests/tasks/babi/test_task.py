"""The bAbI task: batches in both forms (sentences for memory networks, a word sequence for
recurrent models), held-out examples apart from the training set, long stories cut to the
memory, per-type errors, bad settings, and recurrent models (an LSTM, a DNC) training on it."""

import pytest
import torch
import torch.nn.functional as F

from augrnn.tasks.babi import BabiConfig, BabiTask, stories
from augrnn.tasks.babi.stories import Example
from augrnn.train.config import load_preset, parse_override_args
from augrnn.train.loop import Trainer


def test_a_batch_holds_the_story_as_sentences_and_as_a_sequence():
    task = BabiTask(BabiConfig(id="1,2", train_size=20))
    batch = task.sample(6, torch.Generator().manual_seed(0))
    b, s, w = batch.story.shape
    assert b == 6 and batch.question.shape == (6, w) and batch.supports.shape == (6, s)
    assert batch.inputs.shape[1:] == (6, task.input_size)
    for i in range(6):
        steps = int(batch.input_mask[:, i].sum())
        assert batch.mask[:, i].sum() == 1 and batch.mask[steps - 1, i] == 1
        tokens = batch.inputs[:steps, i].argmax(-1)
        assert task.words[int(tokens[-1])] == "?"
        assert (tokens == task.word_ids["."]).sum() == batch.lengths[i]
        assert batch.targets[steps - 1, i, 0] == batch.answers[i]
        sentences = int(batch.lengths[i])
        assert (batch.story[i, sentences:] == 0).all() and (batch.story[i, :sentences, 0] > 0).all()
        assert batch.supports[i].sum() >= 1 and batch.supports[i, sentences:].sum() == 0
    assert set(batch.task_types.tolist()) <= {1, 2}


def test_held_out_examples_are_never_training_ones():
    task = BabiTask(BabiConfig(id="4", train_size=300))  # a small space of stories
    seen = {(e.story, e.question) for e in task.train_examples}
    examples = task._fresh(400, torch.Generator().manual_seed(1), None, held_out=True)
    assert not {(e.story, e.question) for e in examples} & seen
    fixed = task.sample_evaluation(5, torch.Generator().manual_seed(0), length=6)
    assert fixed.story.shape[0] == 5


def test_the_same_data_seed_gives_the_same_training_set():
    a = BabiTask(BabiConfig(id="2", train_size=30, data_seed=3)).train_examples
    b = BabiTask(BabiConfig(id="2", train_size=30, data_seed=3)).train_examples
    c = BabiTask(BabiConfig(id="2", train_size=30, data_seed=4)).train_examples
    assert a == b and a != c


def test_a_story_longer_than_the_memory_keeps_its_newest_statements():
    task = BabiTask(BabiConfig(id="1", train_size=1, memory_size=3))
    story = tuple(
        ("mary", "went", "to", "the", room)
        for room in ("office", "garden", "bedroom", "kitchen", "hallway")
    )
    example = Example(story, ("where", "is", "mary"), "hallway", (4,), 1)
    with pytest.warns(UserWarning, match="longer than memory_size=3: its oldest statements"):
        batch = task.encode([example])
    assert batch.lengths.tolist() == [3] and batch.supports[0].tolist() == [0, 0, 1]
    assert task._text(batch.story[0, 0]) == "mary went to the bedroom"


def test_per_type_errors_and_their_weights():
    task = BabiTask(BabiConfig(id="1,6", train_size=50))
    batch = task.sample(40, torch.Generator().manual_seed(0))
    logits = F.one_hot(batch.targets[..., 0], task.classes).float() * 10
    wrong = batch.task_types == 6
    logits[:, wrong] = logits[:, wrong].roll(1, dims=-1)  # every type-6 answer wrong
    scores = task.metrics(logits, batch)
    assert scores["error_type_1"] == 0.0 and scores["error_type_6"] == 1.0
    weights = task.metric_weights(batch, logits)
    assert weights["error_type_6"] == float(wrong.sum())
    assert scores["sequence_error_rate"] == pytest.approx(float(wrong.float().mean()))


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"id": "21"}, "bAbI types are 1-20, got 21"),
        ({"id": "0"}, "bAbI types are 1-20, got 0"),
        ({"id": "one"}, "task id must be 'all' or types"),
        ({"memory_size": 0}, "memory_size"),
    ],
)
def test_bad_settings_are_clear_errors(settings, message):
    with pytest.raises(ValueError, match=message):
        BabiConfig(**settings)


def test_unknown_words_and_answers_are_clear_errors():
    task = BabiTask(BabiConfig(id="1", train_size=1))
    with pytest.raises(ValueError, match="unknown word 'wizard'"):
        task.encode(
            [
                Example(
                    (("mary", "went", "to", "the", "office"),),
                    ("where", "is", "wizard"),
                    "office",
                    (0,),
                    1,
                )
            ]
        )
    with pytest.raises(ValueError, match="unknown answer 'mars'"):
        task.encode(
            [
                Example(
                    (("mary", "went", "to", "the", "office"),),
                    ("where", "is", "mary"),
                    "mars",
                    (0,),
                    1,
                )
            ]
        )


def test_the_real_files_are_read_with_their_own_vocabulary(tmp_path):
    (tmp_path / "qa1_x_train.txt").write_text("1 Bob went to the moon.\n2 Where is Bob?\tmoon\t1\n")
    (tmp_path / "qa1_x_test.txt").write_text("1 Bob went to the sea.\n2 Where is Bob?\tsea\t1\n")
    task = BabiTask(BabiConfig(path=str(tmp_path)))
    assert {"bob", "moon", "sea"} <= set(task.words) and task.answers == ["moon", "sea"]
    held_out = task.sample_evaluation(4, torch.Generator().manual_seed(0))
    assert set(held_out.answers.tolist()) == {task.answer_ids["sea"]}


@pytest.mark.parametrize(
    "model",
    [
        "--model.hidden_size=16",
        "--model.kind=dnc --model.controller_size=8 --model.memory_slots=8 "
        "--model.memory_width=4 --model.read_heads=2",
    ],
)
def test_a_recurrent_model_trains_and_is_evaluated_per_type(tmp_path, model):
    overrides = (
        f"--task.id=1,12 --task.train_size=100 {model} --train.steps=4 "
        "--train.eval_every=4 --train.eval_sequences=64 --train.tensorboard=false"
    )
    config = load_preset("babi_lstm", parse_override_args(overrides.split()))
    result = Trainer(config, tmp_path / "run").train(progress=False)
    assert result.step == 4
    assert {"error_type_1", "error_type_12", "sequence_error_rate"} <= set(result.eval_metrics)


def test_the_showcase_has_a_story_of_every_type():
    text = BabiTask(BabiConfig(id="1", train_size=1)).showcase(torch.Generator().manual_seed(0))
    for t in sorted(stories.TYPES):
        assert f"babi type {t}," in text


def test_a_users_story_becomes_a_batch_and_long_ones_keep_their_newest_statements():
    task = BabiTask(BabiConfig(id="1", train_size=1, memory_size=2))
    text = "1 Mary went to the office.\n2 Where is Mary?\toffice\t1\nJohn went to the garden.\n"
    text += "Sandra moved to the kitchen.\n"
    batch, notes = task.question_batch(text, "Where is Sandra?")
    assert task.statements(batch, 0) == ["john went to the garden", "sandra moved to the kitchen"]
    assert task.question_text(batch, 0) == "where is sandra?"
    assert notes == ["the story has 3 statements; the oldest 1 are dropped (memory_size=2)"]
