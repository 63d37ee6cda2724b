"""Show, attend and tell: shapes, attention over the feature grid, the gate, the doubly stochastic
regulariser, greedy decoding, the attention-on-digits measure, building, errors and learning.

Sizes differ per dimension: target vocabulary 7, images B=3 x 1 x H=10 x W=13 (grid H'=2 x W'=13),
CNN channels 6 + 4 column encodings (D=10), embedding 5, hidden 9, target length T=4.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from augrnn.attention.seq2seq import EOS
from augrnn.attention.show_attend_tell import (
    ShowAttendTell,
    ShowAttendTellConfig,
    attention_on_digits,
    column_encoding,
    digit_attention_mass,
    doubly_stochastic_penalty,
)
from augrnn.core import Trace
from augrnn.registry import build_model
from augrnn.tasks.base import Batch
from augrnn.tasks.digit_row import DigitRowConfig, DigitRowTask
from augrnn.train.config import ConfigError, config_from_dict, load_preset, parse_override_args
from augrnn.train.evaluation import evaluate, evaluation_set

VOCAB, B, H, W, T = 7, 3, 10, 13, 4
GRID = (H // 4, W)


def model(seed=0, **options):
    torch.manual_seed(seed)
    settings = dict(channels=6, position_features=4, embedding_size=5, hidden_size=9)
    return ShowAttendTell(VOCAB, **{**settings, **options})


def images(seed=1, batch=B, width=W):
    return torch.rand(batch, 1, H, width, generator=torch.Generator().manual_seed(seed))


def targets(seed=2):
    ids = torch.randint(3, VOCAB, (T, B), generator=torch.Generator().manual_seed(seed))
    ids[-1] = EOS
    return ids


def batch_of(seed=3):
    lengths = torch.tensor([3, 1, 2])
    steps = torch.arange(T).unsqueeze(1)
    ids = torch.randint(3, VOCAB, (T, B), generator=torch.Generator().manual_seed(seed))
    ids = torch.where(steps < lengths, ids, 0).masked_fill(steps == lengths, EOS)
    return Batch(images(seed), ids, (steps <= lengths).float(), lengths, None)


class Scorer:
    """A stand-in task: summed cross-entropy over the real steps, averaged over the batch."""

    def loss(self, logits, batch):
        nats = F.cross_entropy(
            logits.reshape(-1, VOCAB), batch.targets.reshape(-1), reduction="none"
        )
        return (nats.reshape(batch.targets.shape) * batch.mask).sum(0).mean()


@pytest.mark.parametrize("attention", ["soft", "none"])
def test_shapes_and_attention_is_a_distribution_over_the_grid(attention):
    net = model(attention=attention)
    logits, attn = net(images(), targets())
    assert logits.shape == (T, B, VOCAB) and attn.shape == (T, B, *GRID)
    assert torch.isfinite(logits).all() and (attn >= 0).all()
    assert torch.allclose(attn.sum((2, 3)), torch.ones(T, B))
    assert net.feature_size == 10
    logits, attn = net(images(width=21), max_length=6)
    assert logits.shape == (6, B, VOCAB) and attn.shape == (6, B, 2, 21)


def test_soft_attention_differs_across_positions_and_none_is_uniform():
    soft = model()(images(), targets())[1]
    assert soft.flatten(2).std(-1).min() > 0
    uniform = model(attention="none")(images(), targets())[1]
    assert torch.allclose(uniform, torch.full_like(uniform, 1 / (GRID[0] * GRID[1])))
    assert model(attention="none").attention is None


def test_teacher_forcing_in_training_and_greedy_in_evaluation():
    net = model()
    ids = targets()
    changed = ids.clone()
    changed[1] = torch.where(ids[1] == 3, 4, 3)
    forced, _ = net(images(), ids)
    forced_changed, _ = net(images(), changed)
    assert torch.equal(forced[:2], forced_changed[:2]) and not torch.equal(
        forced[2], forced_changed[2]
    )
    net.eval()
    greedy, _ = net(images(), ids)
    assert torch.equal(greedy, net(images(), changed)[0])
    assert torch.equal(greedy, net(images(), max_length=T)[0])


def test_regulariser_matches_a_hand_computation():
    # Two steps over three positions; the second sequence's second step is padding.
    attention = torch.tensor(
        [[[0.5, 0.25, 0.25], [0.2, 0.3, 0.5]], [[0.1, 0.1, 0.8], [0.9, 0.05, 0.05]]]
    )
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    first = (1 - 0.6) ** 2 + (1 - 0.35) ** 2 + (1 - 1.05) ** 2
    second = (1 - 0.2) ** 2 + (1 - 0.3) ** 2 + (1 - 0.5) ** 2
    expected = (first + second) / 2
    assert doubly_stochastic_penalty(attention, mask).item() == pytest.approx(expected)
    grid = attention.reshape(2, 2, 3, 1)  # trailing grid dimensions are flattened
    assert doubly_stochastic_penalty(grid, mask).item() == pytest.approx(expected)
    with pytest.raises(ValueError, match="must match the mask"):
        doubly_stochastic_penalty(attention, mask[:1])


@pytest.mark.parametrize("weight", [0.0, 1.0, 2.5])
def test_loss_adds_lambda_times_the_penalty_over_the_real_steps(weight):
    batch = batch_of()
    net = model(doubly_stochastic=weight)
    total, task_loss = net.loss(Scorer(), batch)
    logits, attn = net(batch.inputs, batch.targets)
    assert task_loss.item() == pytest.approx(Scorer().loss(logits, batch).item())
    penalty = 0.0
    for b, length in enumerate(batch.lengths.tolist()):
        seen = attn[: length + 1, b].sum(0)  # the digits and EOS
        penalty += float(((1 - seen.detach()) ** 2).sum())
    assert total.item() == pytest.approx(task_loss.item() + weight * penalty / B, rel=1e-5)
    total.backward()  # the penalty is differentiable
    baseline = model(attention="none", doubly_stochastic=weight)
    total, task_loss = baseline.loss(Scorer(), batch)
    assert torch.equal(total, task_loss)


def test_the_gate_scales_the_context():
    gated, plain = model(gate=True), model(gate=False)
    assert plain.gate is None and gated.gate is not None
    plain.load_state_dict(
        {k: v for k, v in gated.state_dict().items() if not k.startswith("gate.")}
    )
    with torch.no_grad():
        gated.gate.weight.zero_()
        gated.gate.bias.fill_(50.0)  # β = 1: the gated model is the plain one
        assert torch.allclose(gated(images(), targets())[0], plain(images(), targets())[0])
        gated.gate.bias.fill_(-50.0)  # β = 0: no attended context at all
        closed = gated(images(), targets())[0]
        assert not torch.allclose(closed, plain(images(), targets())[0])
        # With the context shut, the attention's parameters no longer matter.
        gated.attention.v.mul_(-3.0)
        assert torch.allclose(closed, gated(images(), targets())[0])
        gated.gate.bias.fill_(50.0)
        assert not torch.allclose(gated(images(), targets())[0], plain(images(), targets())[0])
    trace = Trace()
    model(gate=True)(images(), targets(), trace=trace)
    beta = trace.stack("attention_gate")
    assert beta.shape == (T, B) and ((beta > 0) & (beta < 1)).all()
    trace = Trace()
    model(gate=False)(images(), targets(), trace=trace)
    assert "attention_gate" not in trace.names


def test_trace_records_the_attention_of_every_step():
    trace = Trace()
    net = model()
    _, attn = net(images(), targets(), trace=trace)
    assert len(trace) == T
    assert torch.allclose(trace.stack("attention"), attn.detach())


def test_greedy_decode_matches_evaluation_and_stops_at_eos():
    net = model(seed=4)
    net.eval()
    with torch.no_grad():
        net.output.bias[EOS] = -100.0  # never ends: every sequence runs to max_length
    decoded = net.decode(images(), max_length=5)
    logits, attn = net(images(), max_length=5)
    for b in range(B):
        assert decoded.tokens[b] == logits[:, b].argmax(-1).tolist()
        assert torch.allclose(decoded.attention[b], attn[:, b])
        assert decoded.attention[b].shape == (5, *GRID)
    with torch.no_grad():
        net.output.bias[EOS] = 100.0  # ends at once
    decoded = net.decode(images(), max_length=5)
    assert decoded.tokens == [[EOS]] * B
    assert all(a.shape == (1, *GRID) for a in decoded.attention)
    assert all(math.isfinite(p) and p <= 0 for p in decoded.log_probs)


def test_evaluation_outputs_decode_without_the_targets():
    batch = batch_of()
    net = model()
    net.eval()
    logits = net.evaluation_outputs(batch)
    assert logits.shape == (T, B, VOCAB)
    assert torch.equal(logits, net(batch.inputs, max_length=T)[0])
    traced, trace = net.traced(batch)
    assert torch.equal(traced, logits)
    assert trace.stack("attention").shape == (T, B, *GRID)


def test_column_encoding():
    encoding = column_encoding(5, 4)
    assert encoding.shape == (4, 5)
    assert torch.allclose(encoding[0], torch.sin(torch.arange(5.0)))
    assert torch.allclose(encoding[1], torch.cos(torch.arange(5.0)))
    assert torch.allclose(encoding[2], torch.sin(torch.arange(5.0) / 100.0))
    assert model(position_features=0).feature_size == 6


# --- where the attention falls -------------------------------------------------------------------


def planted(spans, steps, height=2, width=20, on=None):
    """Attention maps putting step t's mass uniformly on the columns of digit on(t) (or on
    column 19 when on(t) is None)."""
    attention = torch.zeros(steps, spans.shape[0], height, width)
    for b in range(spans.shape[0]):
        for t in range(steps):
            j = on(t) if on else t
            if j is None or j >= spans.shape[1] or spans[b, j, 0] < 0:
                attention[t, b, :, width - 1] = 1.0 / height
            else:
                start, end = spans[b, j].tolist()
                attention[t, b, :, start:end] = 1.0 / (height * (end - start))
    return attention


SPANS = torch.tensor([[[0, 8], [9, 17], [-1, -1]], [[1, 9], [9, 17], [17, 19]]])


def test_attention_on_the_right_digit_scores_one_and_on_another_zero():
    right = planted(SPANS, 4)
    assert attention_on_digits(right, SPANS) == pytest.approx(1.0)
    mass = digit_attention_mass(right, SPANS)
    assert mass.shape == (3, 2) and math.isnan(mass[2, 0])
    assert torch.allclose(mass[:2], torch.ones(2, 2)) and mass[2, 1] == pytest.approx(1.0)
    wrong = planted(SPANS, 4, on=lambda t: (t + 1) % 2)
    assert attention_on_digits(wrong, SPANS) == pytest.approx(0.0)
    half = 0.5 * right + 0.5 * planted(SPANS, 4, on=lambda t: None)
    assert attention_on_digits(half, SPANS) == pytest.approx(0.5)


def test_attention_on_digits_maps_strided_columns_to_pixels():
    spans = torch.tensor([[[0, 8], [8, 16]]])
    attention = torch.zeros(2, 1, 1, 8)  # feature column j covers pixels 2j, 2j + 1
    attention[0, 0, 0, 0:4] = 0.25
    attention[1, 0, 0, 3:7] = 0.25  # one column on digit 0, three on digit 1
    mass = digit_attention_mass(attention, spans, column_stride=2)
    assert torch.allclose(mass, torch.tensor([[1.0], [0.75]]))


def test_attention_on_digits_refuses_mismatched_inputs():
    right = planted(SPANS, 4)
    with pytest.raises(ValueError, match="steps, batch, H', W'"):
        attention_on_digits(right[:, :, 0], SPANS)
    with pytest.raises(ValueError, match="spans must be"):
        attention_on_digits(right, SPANS[:1])
    with pytest.raises(ValueError, match="each digit needs its output step"):
        attention_on_digits(right[:2], SPANS)
    with pytest.raises(ValueError, match="beyond the 10 feature columns"):
        attention_on_digits(right[..., :10], SPANS)
    with pytest.raises(ValueError, match="column_stride must be >= 1"):
        attention_on_digits(right, SPANS, column_stride=0)


# --- errors, building and the trainer -------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, message",
    [
        (torch.rand(B, H, W), r"\(batch, 1, height, width\) float"),
        (torch.rand(B, 2, H, W), r"\(batch, 1, height, width\) float"),
        (torch.zeros(B, 1, H, W, dtype=torch.long), r"\(batch, 1, height, width\) float"),
        (torch.rand(B, 1, 3, W), "height >= 4"),
        ([[0.0]], "got a list"),
    ],
)
def test_bad_images_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        model()(bad, max_length=2)
    with pytest.raises(ValueError, match=message):
        model().decode(bad, max_length=2)


def test_bad_lengths_targets_and_settings_are_refused():
    net = model()
    for length in (0, -1):
        with pytest.raises(ValueError, match="max_length must be >= 1"):
            net(images(), max_length=length)
        with pytest.raises(ValueError, match="max_length must be >= 1"):
            net.decode(images(), max_length=length)
    with pytest.raises(ValueError, match="needs the targets or a max_length"):
        net(images())
    with pytest.raises(ValueError, match=r"shape \(target length >= 1, 3\)"):
        net(images(), targets()[:, :2])
    with pytest.raises(ValueError, match="long tensor"):
        net(images(), targets().float())
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 6\]"):
        net(images(), targets() + 5)
    with pytest.raises(ValueError, match="attention must be one of"):
        model(attention="hard")
    with pytest.raises(ValueError, match="position_features must be even"):
        model(position_features=3)
    with pytest.raises(ValueError, match="channels must be >= 2"):
        model(channels=1)
    with pytest.raises(ValueError, match="doubly stochastic weight must be >= 0"):
        model(doubly_stochastic=-1.0)
    with pytest.raises(ValueError, match="at least one symbol"):
        ShowAttendTell(3)


def test_build_model_and_presets():
    config = ShowAttendTellConfig(
        channels=8,
        position_features=6,
        embedding_size=5,
        hidden_size=12,
        gate=False,
        doubly_stochastic=0.5,
    )
    defaults = ShowAttendTellConfig()
    assert defaults.doubly_stochastic == 1.0 and defaults.gate and defaults.attention == "soft"
    net = build_model(config, input_size=1, output_size=13)
    assert isinstance(net, ShowAttendTell) and net.attention_kind == "soft"
    assert net.gate is None and net.doubly_stochastic == 0.5 and net.feature_size == 14
    assert net.cell.hidden_size == 12 and net.embedding.embedding_dim == 5
    with pytest.raises(ConfigError, match="'show_attend_tell' is not a recurrent core"):
        config_from_dict({"model": {"kind": "act", "core": {"kind": "show_attend_tell"}}})
    attending = load_preset("digit_row")
    assert attending.task_name == "digit_row" and attending.model.attention == "soft"
    assert attending.model.gate and attending.model.doubly_stochastic == 1.0
    baseline = load_preset("digit_row_noattention", parse_override_args(["--task.classes=4"]))
    assert baseline.model.attention == "none" and baseline.task.classes == 4
    for preset in (attending, baseline):
        task = DigitRowTask(preset.task)
        net = build_model(preset.model, task.input_size, task.output_size)
        assert isinstance(net, ShowAttendTell)


def test_the_trainer_scores_the_held_out_handwriting():
    config = load_preset(
        "digit_row",
        parse_override_args(
            [
                "--train.eval_sequences=12",
                "--train.eval_batch_size=5",
                "--model.channels=4",
                "--model.hidden_size=8",
                "--model.embedding_size=4",
            ]
        ),
    )
    task = DigitRowTask(config.task)
    batches = evaluation_set(task, config)
    assert [b.mask.shape[1] for b in batches] == [5, 5, 2]
    generator = torch.Generator().manual_seed(config.train.eval_seed)
    assert torch.equal(batches[0].inputs, task.sample_evaluation(5, generator).inputs)
    net = build_model(config.model, task.input_size, task.output_size)
    metrics = evaluate(net, task, batches, "cpu")
    assert 0.0 <= metrics["sequence_error_rate"] <= 1.0 and "token_accuracy" in metrics


# --- learning ------------------------------------------------------------------------------------


def train_rows_of_two(attention: str, steps: int = 400) -> tuple[float, float]:
    """Train on rows of two digits out of {0, 1, 2}; return the exact match and the attention
    on the right digit, on 200 rows of held-out handwriting."""
    task = DigitRowTask(DigitRowConfig(2, 2, classes=3, max_gap=1, vertical_jitter=0))
    torch.manual_seed(0)
    net = ShowAttendTell(
        task.output_size, channels=16, embedding_size=8, hidden_size=32, attention=attention
    )
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        loss, _ = net.loss(task, task.sample(32, generator))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        optimizer.step()
    batch, spans = task.sample_with_spans(200, torch.Generator().manual_seed(1), pool="test")
    net.eval()
    with torch.no_grad():
        logits, attention_maps = net(batch.inputs, max_length=batch.targets.shape[0])
    return task.metrics(logits, batch)["exact_match"], attention_on_digits(attention_maps, spans)


def test_attention_learns_to_read_two_digits_in_order_and_the_baseline_cannot():
    # Chance is 1/9. Without attention the decoder sees only the mean feature: it can learn which
    # digits the row holds but not their order, at best 1/3 + 2/3 · 1/2 = 2/3 exact.
    exact, on_digits = train_rows_of_two("soft")
    assert exact >= 0.8 and on_digits >= 0.6
    baseline, _ = train_rows_of_two("none")
    assert baseline < 0.7


@pytest.mark.parametrize("attention", ["soft", "none"])
def test_the_model_on_each_device_matches_a_float64_cpu_reference(attention, matches_float64_cpu):
    def run(net, dtype, device):
        logits, _ = net(images().to(device, dtype), targets().to(device))
        return logits

    matches_float64_cpu(lambda: model(attention=attention), run)
