"""The Dynamic Memory Network and DMN+: facts that do not depend on the rest of the batch,
gates in [0, 1] (softmax ones summing to 1) and zero on padding, the attention GRU's gate, clear
errors, float64 gradients, and DMN+ learning bAbI type 1."""

import pytest
import torch

from augrnn.memnet.dmn import DMN, AttentionGRUCell
from augrnn.tasks.babi import BabiConfig, BabiTask
from augrnn.train.config import load_preset, parse_override_args
from augrnn.train.loop import Trainer

H = 6
DMN_PLUS = {"input_module": "fusion", "attention": "attention_gru", "memory_update": "relu"}


@pytest.fixture(scope="module")
def task():
    return BabiTask(BabiConfig(id="2", train_size=8))


@pytest.mark.parametrize("input_module", ["gru", "fusion"])
def test_each_storys_facts_are_its_own(task, input_module):
    torch.manual_seed(0)
    model = DMN(task.input_size, task.classes, hidden_size=H, input_module=input_module).eval()
    batch = task.sample(5, torch.Generator().manual_seed(1))
    facts = model.facts(batch.story, batch.lengths)
    assert facts.shape == (5, batch.story.shape[1], H)
    for i in range(5):
        n = int(batch.lengths[i])
        alone = model.facts(batch.story[i : i + 1, :n], batch.lengths[i : i + 1])
        assert torch.allclose(facts[i, :n], alone[0], atol=1e-6)
        assert (facts[i, n:] == 0).all()


@pytest.mark.parametrize("options", [{}, DMN_PLUS])
def test_gates_are_in_range_and_zero_on_padding(task, options):
    torch.manual_seed(0)
    model = DMN(task.input_size, task.classes, hidden_size=H, passes=2, **options).eval()
    batch = task.sample(4, torch.Generator().manual_seed(2))
    logits, trace = model.traced(batch)
    assert logits.shape == (batch.mask.shape[0], 4, task.classes)
    gates = trace.stack("memory_attention")  # (passes, B, S)
    assert gates.shape == (2, 4, batch.story.shape[1])
    assert (gates >= 0).all() and (gates <= 1).all()
    for i in range(4):
        n = int(batch.lengths[i])
        assert (gates[:, i, n:] == 0).all()
        if options:  # softmax over the facts
            assert torch.allclose(gates[:, i].sum(-1), torch.ones(2), atol=1e-5)


def test_the_attention_gru_keeps_its_state_at_gate_zero_and_takes_the_candidate_at_one():
    torch.manual_seed(0)
    cell = AttentionGRUCell(3, 4)
    f, h = torch.randn(2, 3), torch.randn(2, 4)
    assert torch.equal(cell(f, h, torch.zeros(2)), h)
    candidate = cell(f, h, torch.ones(2))
    reset_in, candidate_in = cell.inputs(f).chunk(2, -1)
    reset_h, candidate_h = cell.hidden(h).chunk(2, -1)
    expected = torch.tanh(candidate_in + torch.sigmoid(reset_in + reset_h) * candidate_h)
    assert torch.allclose(candidate, expected)


def test_gradients_in_float64(task):
    torch.manual_seed(0)
    model = DMN(task.input_size, task.classes, hidden_size=3, passes=2, **DMN_PLUS).double()
    batch = task.sample(2, torch.Generator().manual_seed(3), length=4)
    # The gates' last layer and the question reader's input weights: through every module.
    scorer = model.scorer[2].weight.detach().clone().requires_grad_(True)
    reader = model.reader.weight_ih_l0[:2].detach().clone().requires_grad_(True)

    def answer(scorer_weight, reader_rows):
        weights = torch.cat([reader_rows, model.reader.weight_ih_l0[2:].detach()])
        parameters = {"scorer.2.weight": scorer_weight, "reader.weight_ih_l0": weights}
        return torch.func.functional_call(model, parameters, (batch,))

    assert torch.autograd.gradcheck(answer, (scorer, reader))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"input_module": "lstm"}, "input_module must be one of gru, fusion"),
        ({"attention": "dot"}, "attention must be one of gate, attention_gru"),
        ({"memory_update": "sum"}, "memory_update must be one of gru, relu"),
        ({"passes": 0}, "passes"),
    ],
)
def test_bad_settings_are_clear_errors(options, message):
    with pytest.raises(ValueError, match=message):
        DMN(10, 4, **options)


def test_dmn_plus_learns_single_supporting_facts(tmp_path):
    """bAbI type 1, 500 training stories, 40 units: from chance (5 in 6 wrong) to under 10% of
    held-out questions wrong within 300 steps."""
    overrides = (
        "--task.id=1 --task.train_size=500 --model.hidden_size=40 --optim.lr=5e-3 "
        "--train.steps=300 --train.eval_every=50 --train.eval_sequences=200 "
        "--train.target=0.1 --train.tensorboard=false --train.seed=0"
    )
    config = load_preset("babi_dmn_plus", parse_override_args(overrides.split()))
    result = Trainer(config, tmp_path / "run").train(progress=False)
    assert result.eval_metrics["sequence_error_rate"] < 0.1, result.eval_metrics
