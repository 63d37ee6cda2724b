"""MemN2N: the position encoding's formula, attention that sums to 1 over a story's statements
and to 0 on padding, tying as the paper defines it, random noise and the linear start only in
training, float64 gradients, clear errors, and a small model that learns bAbI type 1."""

import pytest
import torch

from augrnn.interface import EvaluationContext
from augrnn.memnet.memn2n import MemN2N, masked_attention, position_weights
from augrnn.tasks.babi import BabiConfig, BabiTask
from augrnn.train.config import load_preset, parse_override_args
from augrnn.train.loop import Trainer

V, ANSWERS, D = 23, 7, 6


def story_batch(b=3, statements=(4, 2, 5), words=5, seed=0):
    """A StoryBatch-like batch: ``story`` (B, S, W), ``question`` (B, W), ``lengths``, ``mask``."""
    g = torch.Generator().manual_seed(seed)
    s = max(statements)
    story = torch.randint(1, V, (b, s, words), generator=g)
    lengths = torch.tensor(statements[:b])
    for i, n in enumerate(lengths.tolist()):
        story[i, n:] = 0
        story[i, :n, words - 1 - i % 2 :] = 0  # statements of different lengths
    question = torch.randint(1, V, (b, words), generator=g)
    question[:, 3:] = 0
    mask = torch.zeros(4, b)
    mask[-1] = 1

    class Batch:
        pass

    batch = Batch()
    batch.story, batch.question, batch.lengths, batch.mask = story, question, lengths, mask
    return batch


def test_position_weights_are_the_papers_formula():
    weights = position_weights(torch.tensor([3]), words=4, size=2)[0]  # (4, 2)
    for j in range(1, 4):
        for k in range(1, 3):
            expected = (1 - j / 3) - (k / 2) * (1 - 2 * j / 3)
            assert weights[j - 1, k - 1].item() == pytest.approx(expected)
    assert (weights[3] == 0).all()  # past the statement's words


def test_attention_sums_to_one_over_the_statements_and_is_zero_on_padding():
    model = MemN2N(V, ANSWERS, embedding_size=D, hops=3, random_noise=0.0).eval()
    batch = story_batch()
    logits, trace = model.traced(batch)
    assert logits.shape == (4, 3, ANSWERS) and (logits[:-1] == 0).all()
    attention = trace.stack("memory_attention")  # (hops, B, S)
    assert attention.shape == (3, 3, 5)
    sums = attention.sum(-1)
    assert torch.allclose(sums, torch.ones_like(sums))
    assert (attention[:, 1, 2:] == 0).all()  # the second story has 2 statements


def test_a_story_with_no_statement_gives_no_nan():
    p = masked_attention(torch.randn(2, 3), torch.tensor([[False] * 3, [True, True, False]]))
    assert p[0].abs().sum() == 0 and p[1].sum().item() == pytest.approx(1.0)
    assert not torch.isnan(p).any()


def test_adjacent_tying_shares_tables_between_hops():
    adjacent = MemN2N(V, ANSWERS, embedding_size=D, hops=3, tying="adjacent")
    layerwise = MemN2N(V, ANSWERS, embedding_size=D, hops=3, tying="layerwise")
    assert len(adjacent.embeddings) == 4 and adjacent.mixing is None  # E_0..E_3
    assert [adjacent._tables(k) for k in range(3)] == [(0, 1), (1, 2), (2, 3)]
    assert adjacent._question_table == 0  # B = A^1
    assert len(layerwise.embeddings) == 3 and layerwise.mixing is not None
    assert {layerwise._tables(k) for k in range(3)} == {(0, 1)}
    for table in adjacent.embeddings:
        assert (table.weight[0] == 0).all()  # the pad word


def test_random_noise_adds_empty_memories_in_training_only():
    model = MemN2N(V, ANSWERS, embedding_size=D, random_noise=0.5)
    batch = story_batch()
    torch.manual_seed(0)
    index, valid, age = model.train().memory_layout(batch)
    assert valid.sum(-1).tolist() == [6, 3, 8]  # 4 + 2, 2 + 1, 5 + 3
    for i, n in enumerate([4, 2, 5]):
        filled = index[i][index[i] >= 0]
        assert filled.tolist() == list(range(n))  # statements keep their order
    assert age[0, :6].tolist() == [5, 4, 3, 2, 1, 0]  # age 0 is the newest slot
    index, valid, _ = model.eval().memory_layout(batch)
    assert valid.sum(-1).tolist() == [4, 2, 5]
    assert index[0, :4].tolist() == [0, 1, 2, 3]
    first = model(batch)
    assert torch.equal(first, model(batch))  # evaluation is deterministic


def test_the_linear_start_drops_the_softmax_for_its_first_training_steps():
    task = BabiTask(BabiConfig(id="1", train_size=4))
    model = MemN2N(task.input_size, task.classes, embedding_size=D, linear_start_steps=2)
    batch = task.sample(4, torch.Generator().manual_seed(0))
    model.train()
    assert model.linear
    model.loss(task, batch)
    model.loss(task, batch)
    assert not model.linear and int(model.steps_taken) == 2
    assert not model.eval().linear


def test_gradients_in_float64():
    model = MemN2N(V, ANSWERS, embedding_size=D, hops=2, random_noise=0.0, memory_size=5)
    model = model.double().eval()
    batch = story_batch()
    ages = model.ages[0].detach().clone().requires_grad_(True)
    embedding = model.embeddings[1].weight.detach().clone().requires_grad_(True)

    def answer(ages_table, embedding_table):
        parameters = {"ages.0": ages_table, "embeddings.1.weight": embedding_table}
        return torch.func.functional_call(model, parameters, (batch,))

    assert torch.autograd.gradcheck(answer, (ages, embedding))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"tying": "none"}, "tying must be one of adjacent, layerwise"),
        ({"encoding": "tfidf"}, "encoding must be one of position, bow"),
        ({"hops": 0}, "hops"),
    ],
)
def test_bad_settings_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MemN2N(V, ANSWERS, **kwargs)


def test_batches_without_a_story_or_too_long_ones_are_clear_errors():
    model = MemN2N(V, ANSWERS, embedding_size=D, memory_size=3)

    class NotAStory:
        inputs = torch.zeros(2, 2, 3)

    with pytest.raises(ValueError, match="memn2n reads stories"):
        model(NotAStory())
    with pytest.raises(ValueError, match="longer than the model's memory_size=3"):
        model(story_batch())


def test_a_small_memn2n_learns_single_supporting_facts(tmp_path):
    """bAbI type 1, 500 training stories, d = 20: from chance (5 in 6 wrong) to under 10%
    of held-out questions wrong within 300 steps of Adam."""
    overrides = (
        "--task.id=1 --task.train_size=500 --model.embedding_size=20 "
        "--model.linear_start_steps=0 --optim.name=adam --optim.lr=1e-2 "
        "--optim.schedule=constant --train.steps=300 --train.eval_every=100 "
        "--train.eval_sequences=500 --train.target=0.1 --train.tensorboard=false --train.seed=0"
    )
    config = load_preset("babi_memn2n", parse_override_args(overrides.split()))
    trainer = Trainer(config, tmp_path / "run")
    result = trainer.train(progress=False)
    assert result.eval_metrics["sequence_error_rate"] < 0.1, result.eval_metrics
    # It answers by reading the statement that says where the actor went last.
    batches = [trainer.task.sample_evaluation(200, torch.Generator().manual_seed(9))]
    model = trainer.model.eval()
    attended = model.extra_metrics(trainer.task, EvaluationContext(batches, 9, 200, 200))
    assert attended["support_attended"] > 0.5, attended
