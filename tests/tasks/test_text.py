"""The vocabulary and the batch contract that every sequence-to-sequence task keeps."""

import pytest
import torch

from augrnn.tasks import TASKS
from augrnn.tasks.dates import DatesTask
from augrnn.tasks.reversal import ReversalTask
from augrnn.tasks.symbol_sort import SymbolSortTask
from augrnn.tasks.text import UnknownSymbolError, Vocabulary, pad_token_ids
from augrnn.tasks.written_addition import WrittenAdditionTask

SEQ2SEQ_TASKS = [ReversalTask, SymbolSortTask, WrittenAdditionTask, DatesTask]
PAD, BOS, EOS = 0, 1, 2


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def same(a, b) -> bool:
    return all((x is None and y is None) or torch.equal(x, y) for x, y in zip(a, b, strict=True))


def one_hot_logits(targets: torch.Tensor, vocab_size: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(targets, vocab_size).float() * 30


def real_lengths(task, batch, b: int) -> tuple[int, int]:
    """Source and target token counts of episode b, from its decoded texts (target with EOS)."""
    source = task.source_vocab.decode(batch.inputs[:, b])
    target = task.decode_target(batch.targets[:, b])
    return len(task.source_vocab.encode(source)), len(task.target_vocab.encode(target)) + 1


def test_specials_are_the_same_in_every_vocabulary():
    characters = Vocabulary("abc")
    words = Vocabulary(["yes", "no"], separator=" ")
    for vocab in (characters, words):
        assert (vocab.PAD, vocab.BOS, vocab.EOS) == (PAD, BOS, EOS)
    assert len(characters) == 6 and characters.symbols == ("a", "b", "c")
    assert characters.encode("cab") == [5, 3, 4]
    assert words.encode(["no", "yes"]) == [4, 3]


def test_round_trip_of_characters_and_of_words():
    digits = Vocabulary("0123456789+")
    assert digits.decode(digits.encode("120+907")) == "120+907"
    words = Vocabulary(["one", "two", "three"], separator=" ")
    assert words.decode(words.encode(["three", "one", "one"])) == "three one one"


def test_decode_stops_at_eos_and_skips_pad_and_bos():
    vocab = Vocabulary("abc")
    assert vocab.decode([BOS, 3, 4, EOS, 5, 3]) == "ab"
    assert vocab.decode(torch.tensor([3, PAD, 5, EOS, PAD])) == "ac"
    assert vocab.decode([EOS, 3]) == ""
    with pytest.raises(ValueError, match="token id 6 is outside the vocabulary of 6"):
        vocab.decode([3, 6])


def test_unknown_symbols_are_listed_with_the_allowed_ones():
    vocab = Vocabulary("abc")
    message = r"unknown symbols \['x', '!'\]; this vocabulary allows \['a', 'b', 'c'\]"
    with pytest.raises(UnknownSymbolError, match=message):
        vocab.encode("axb!x")
    with pytest.raises(ValueError, match=r"\['d'\]"):
        vocab.encode(["a", "d"])


def test_a_long_list_of_allowed_symbols_is_cut_short():
    vocab = Vocabulary([f"w{i}" for i in range(100)], separator=" ")
    with pytest.raises(UnknownSymbolError) as error:
        vocab.encode(["w1", "w100"])
    message = str(error.value)
    assert "unknown symbols ['w100']" in message
    assert "'w39', ... (100 in all)]" in message and "'w40'" not in message


@pytest.mark.parametrize(
    "symbols, message",
    [("", "at least one symbol"), ("abca", "repeated: \\['a'\\]"), (["a", ""], "non-empty")],
)
def test_bad_vocabularies_are_refused(symbols, message):
    with pytest.raises(ValueError, match=message):
        Vocabulary(symbols)


def test_padding_lists_of_ids():
    ids, mask = pad_token_ids([[3, 4, 5], [6], [7, 8]])
    assert ids.dtype == torch.long and ids.shape == mask.shape == (3, 3)
    assert ids.T.tolist() == [[3, 4, 5], [6, 0, 0], [7, 8, 0]]
    assert mask.T.tolist() == [[1, 1, 1], [1, 0, 0], [1, 1, 0]]


def test_the_tasks_are_registered():
    for task_class in SEQ2SEQ_TASKS:
        assert TASKS[task_class.name] is task_class


@pytest.mark.parametrize("task_class", SEQ2SEQ_TASKS)
@pytest.mark.parametrize("batch_size", [1, 3, 16])
def test_shapes_and_dtypes(task_class, batch_size):
    task = task_class()
    batch = task.sample(batch_size, gen(0))
    sources, targets = batch.inputs.shape[0], batch.targets.shape[0]
    assert batch.inputs.shape == batch.input_mask.shape == (sources, batch_size)
    assert batch.targets.shape == batch.mask.shape == (targets, batch_size)
    assert batch.inputs.dtype == batch.targets.dtype == batch.lengths.dtype == torch.long
    assert batch.mask.dtype == batch.input_mask.dtype == torch.float32
    assert batch.lengths.shape == (batch_size,)
    assert task.input_size == len(task.source_vocab) and task.output_size == len(task.target_vocab)
    assert task.headline_metric == "sequence_error_rate"


@pytest.mark.parametrize("task_class", SEQ2SEQ_TASKS)
def test_padding_and_both_masks_follow_the_encoded_texts(task_class):
    task = task_class()
    batch = task.sample(32, gen(1))
    sizes = [real_lengths(task, batch, b) for b in range(32)]
    assert len(set(sizes)) > 1
    assert batch.inputs.shape[0] == max(s for s, _ in sizes)
    assert batch.targets.shape[0] == max(t for _, t in sizes)
    for b, (source, target) in enumerate(sizes):
        assert (batch.inputs[:source, b] >= Vocabulary.SPECIALS).all()
        assert batch.inputs[source:, b].eq(PAD).all()
        assert batch.input_mask[:source, b].eq(1).all() and batch.input_mask[source:, b].eq(0).all()
        assert (batch.targets[: target - 1, b] >= Vocabulary.SPECIALS).all()
        assert batch.targets[target - 1, b] == EOS and batch.targets[target:, b].eq(PAD).all()
        assert batch.mask[:target, b].eq(1).all() and batch.mask[target:, b].eq(0).all()


@pytest.mark.parametrize("task_class", SEQ2SEQ_TASKS)
def test_seeding_is_reproducible_and_uses_only_the_generator(task_class):
    task = task_class()
    state = torch.get_rng_state()
    assert same(task.sample(6, gen(1)), task.sample(6, gen(1)))
    assert torch.equal(torch.get_rng_state(), state)
    assert not same(task.sample(6, gen(1)), task.sample(6, gen(2)))


@pytest.mark.parametrize("task_class", SEQ2SEQ_TASKS)
def test_loss_and_metrics_of_perfect_and_wrong_predictions(task_class):
    task = task_class()
    batch = task.sample(8, gen(3))
    perfect = one_hot_logits(batch.targets, task.output_size)
    assert task.loss(perfect, batch).item() < 1e-6
    metrics = task.metrics(perfect, batch)
    assert metrics["exact_match"] == 1.0 and metrics["sequence_error_rate"] == 0.0
    assert metrics["token_accuracy"] == 1.0 and metrics["cost_bits"] < 1e-6

    # Predict something else than episode 5's EOS.
    eos_step = real_lengths(task, batch, 5)[1] - 1
    wrong = perfect.clone()
    wrong[eos_step, 5] = one_hot_logits(torch.tensor(3), task.output_size)
    metrics = task.metrics(wrong, batch)
    assert metrics["exact_match"] == pytest.approx(7 / 8)
    assert metrics["sequence_error_rate"] == pytest.approx(1 / 8)
    assert metrics["token_accuracy"] == pytest.approx(1 - 1 / batch.mask.sum().item())
    assert metrics["cost_bits"] > 1

    # Padding may say anything.
    noisy_padding = torch.where(batch.mask.bool().unsqueeze(-1), perfect, -perfect)
    assert task.metrics(noisy_padding, batch)["sequence_error_rate"] == 0.0


@pytest.mark.parametrize("task_class", SEQ2SEQ_TASKS)
def test_logits_of_the_wrong_shape_are_refused(task_class):
    task = task_class()
    batch = task.sample(4, gen(4))
    steps = batch.targets.shape[0]
    message = rf"expected \({steps}, 4, {task.output_size}\) \(time, batch, vocab"
    for logits in (torch.zeros(steps, 4, task.output_size + 1), torch.zeros(steps, 4)):
        with pytest.raises(ValueError, match=message):
            task.loss(logits, batch)
    with pytest.raises(ValueError, match=message):
        task.metrics(torch.zeros(steps + 1, 4, task.output_size), batch)


@pytest.mark.parametrize("task_class", SEQ2SEQ_TASKS)
def test_encode_source_matches_the_batch_and_refuses_unknown_characters(task_class):
    task = task_class()
    batch = task.sample(2, gen(5))
    source_length = real_lengths(task, batch, 1)[0]
    text = task.source_vocab.decode(batch.inputs[:, 1])
    assert torch.equal(task.encode_source(text), batch.inputs[:source_length, 1:2])
    with pytest.raises(UnknownSymbolError, match=r"unknown symbols \['@', '\?'\]; .* allows \["):
        task.encode_source(text + "@?")
    for blank in ("", "  "):
        with pytest.raises(ValueError, match="needs a source text"):
            task.encode_source(blank)


def test_a_source_longer_than_any_in_training_is_noted():
    from augrnn.tasks.reversal import ReversalTask

    task = ReversalTask()
    assert task.source_notes("0123456789") == []
    (note,) = task.source_notes("0123456789" * 3)
    assert note.startswith("30 symbols, more than any training source (20): outside the")


@pytest.mark.parametrize("task_class", SEQ2SEQ_TASKS)
def test_render_shows_source_target_and_output(task_class):
    task = task_class()
    batch = task.sample(3, gen(6))
    source = task.source_vocab.decode(batch.inputs[:, 2])
    target = task.decode_target(batch.targets[:, 2])
    lines = task.render(batch, 2, logits=one_hot_logits(batch.targets, task.output_size))
    assert lines.splitlines()[1:] == [f"source: {source}", f"target: {target}", f"output: {target}"]
    assert lines.startswith(f"{task.name}, {task.length_name} {int(batch.lengths[2])}")
    assert len(task.render(batch, 2).splitlines()) == 3
