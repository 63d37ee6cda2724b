import math
from typing import NamedTuple

import pytest
import torch
from torch import nn

from augrnn.act import ACT, _PonderLoop, truncated_geometric_log_prior
from augrnn.controllers import GRUController, LSTMController, RNNController
from augrnn.core import Core, Trace, collecting_step_terms, tree_map, unroll
from augrnn.memory.ntm import NTMCell
from augrnn.sequence import RecurrentModel
from augrnn.tasks.base import Batch, Task
from augrnn.train.config import load_preset, parse_override_args
from augrnn.train.loop import Trainer
from augrnn.train.runs import read_metrics

B, IN, H, OUT, T = 3, 4, 6, 2, 5


class Count(NamedTuple):
    n: torch.Tensor  # (B,) ponder steps taken so far


class ScriptedCore(Core):
    """Outputs the logit z[b, n] at its n-th call for sample b, so h^n = σ(z[b, n]) once the
    halting unit is the identity. Counts its calls."""

    def __init__(self, logits: torch.Tensor):
        super().__init__()
        self.input_size = 2
        self.output_size = 1
        self.z = nn.Parameter(logits.clone())
        self.calls = 0

    def initial_state(self, batch_size, device=None, dtype=None):
        return Count(torch.zeros(batch_size))

    def forward(self, x, state):
        self.calls += 1
        index = state.n.long().clamp_max(self.z.shape[1] - 1)
        out = self.z.gather(1, index.unsqueeze(1))
        return out, Count(state.n + 1)


def scripted_act(logits, **kwargs):
    core = ScriptedCore(logits)
    act = ACT(core, 1, **kwargs)
    with torch.no_grad():
        act.halting_layer.weight.fill_(1.0)
        act.halting_layer.bias.zero_()
    return act, core


def one_step(act, batch=None):
    batch = batch or act.core.z.shape[0]
    x = torch.zeros(batch, act.input_size)
    with collecting_step_terms() as terms:
        y, state = act(x, act.initial_state(batch))
    return y, state, terms


def test_ponder_cost_gradient_is_minus_one_before_the_halting_step_and_zero_at_it():
    # Sample 0: h = .3, .3, .3, .3 -> Σ reaches .99 at n = 4 (N = 4, R = .1).
    # Sample 1: h = .995 -> N = 1, R = 1.  Sample 2: h = .5, .6 -> N = 2, R = .5.
    h = torch.tensor(
        [[0.3, 0.3, 0.3, 0.3, 0.3], [0.995, 0.2, 0.2, 0.2, 0.2], [0.5, 0.6, 0.1, 0.1, 0.1]]
    )
    act, core = scripted_act(torch.logit(h, eps=0), tau=1.0)
    _, _, terms = one_step(act)
    steps = terms.stacked("ponder_steps")[0]
    cost = terms.stacked("ponder_cost")[0]
    assert steps.tolist() == [4, 1, 2]
    assert torch.allclose(cost, torch.tensor([4.1, 2.0, 2.5]))
    cost.sum().backward()
    sigma_prime = h * (1 - h)
    d_cost_d_h = core.z.grad / sigma_prime
    expected = torch.zeros_like(h)
    for b, n_halt in enumerate([4, 1, 2]):
        expected[b, : n_halt - 1] = -1.0
    assert torch.allclose(d_cost_d_h, expected, atol=1e-5)


def test_batch_stops_when_every_sample_has_halted_and_halted_samples_stop_changing():
    h = torch.tensor([[0.995, 0.1, 0.1, 0.1], [0.4, 0.4, 0.4, 0.4]])
    act, core = scripted_act(torch.logit(h, eps=0), max_steps=50)
    y, state, terms = one_step(act)
    assert core.calls == 3  # sample 1 halts at n = 3; nothing runs after that
    assert terms.stacked("ponder_steps")[0].tolist() == [1, 3]
    # Sample 0's state is its own first step (n = 1), untouched by the later steps.
    assert state.core.n.tolist() == pytest.approx([1.0, 0.4 * 1 + 0.4 * 2 + 0.2 * 3])


def test_first_halting_value_at_least_one_minus_epsilon_stops_after_one_step():
    act, core = scripted_act(torch.full((2, 3), 8.0))  # σ(8) = 0.99966 ≥ 0.99
    y, _, terms = one_step(act)
    assert core.calls == 1
    assert terms.stacked("ponder_steps")[0].tolist() == [1, 1]
    assert torch.allclose(terms.stacked("ponder_cost")[0], torch.tensor([2.0, 2.0]))


@pytest.mark.parametrize("max_steps", [1, 7])
def test_very_negative_halting_bias_runs_to_the_step_limit(max_steps):
    torch.manual_seed(0)
    act = ACT(LSTMController(IN + 1, H), OUT, max_steps=max_steps, halting_bias=-50.0)
    trace = Trace()
    with collecting_step_terms() as terms:
        y, _ = unroll(act, torch.randn(T, B, IN), trace=trace)
    steps = terms.stacked("ponder_steps")
    assert (steps == max_steps).all()
    probs = trace.stack("halting_probabilities")
    assert probs.shape == (T, B, max_steps)
    assert torch.allclose(probs.sum(-1), torch.ones(T, B))
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("core_class", [LSTMController, GRUController, RNNController])
@pytest.mark.parametrize("bias", [-3.0, 0.0, 1.0, 3.0])
def test_halting_probabilities_are_a_distribution_and_steps_within_limit(core_class, bias):
    torch.manual_seed(1)
    act = ACT(core_class(IN + 1, H), OUT, max_steps=12, halting_bias=bias)
    nn.init.normal_(act.halting_layer.weight, std=2.0)
    trace = Trace()
    with collecting_step_terms() as terms:
        unroll(act, torch.randn(T, B, IN), trace=trace)
    probs = trace.stack("halting_probabilities")
    steps = trace.stack("ponder_steps")
    assert torch.allclose(probs.sum(-1), torch.ones(T, B), atol=1e-6)
    assert (probs >= 0).all()
    assert ((steps >= 1) & (steps <= 12)).all()
    assert torch.equal(steps, terms.stacked("ponder_steps"))
    # p is zero beyond N(t), and p^N = R(t).
    n = torch.arange(1, 13).expand(T, B, -1)
    assert (probs[n > steps.unsqueeze(-1)] == 0).all()
    last = probs.gather(-1, (steps.long() - 1).unsqueeze(-1)).squeeze(-1)
    assert torch.allclose(last, trace.stack("remainder"))


def test_mean_field_state_of_an_lstm_includes_the_cell():
    torch.manual_seed(2)
    inner = LSTMController(IN + 1, H)
    act = ACT(inner, OUT, max_steps=2, halting_bias=0.0)
    nn.init.zeros_(act.halting_layer.weight)  # h = σ(0) = .5 at every step: N = 2, p = .5, .5
    x = torch.randn(B, IN)
    y, state = act(x, act.initial_state(B))
    s0 = inner.initial_state(B)
    out1, s1 = inner(torch.cat([x, torch.ones(B, 1)], -1), s0)
    out2, s2 = inner(torch.cat([x, torch.zeros(B, 1)], -1), s1)
    assert torch.allclose(state.core.c, 0.5 * s1.c + 0.5 * s2.c, atol=1e-6)
    assert torch.allclose(state.core.h, 0.5 * s1.h + 0.5 * s2.h, atol=1e-6)
    expected_y = 0.5 * act.output_layer(out1) + 0.5 * act.output_layer(out2)
    assert torch.allclose(y, expected_y, atol=1e-6)


def test_each_sample_ponders_as_it_would_alone():
    torch.manual_seed(3)
    act = ACT(LSTMController(IN + 1, H), OUT, max_steps=20)
    nn.init.normal_(act.halting_layer.weight, std=3.0)
    xs = torch.randn(T, B, IN)
    with collecting_step_terms() as terms:
        together, _ = unroll(act, xs)
    steps = terms.stacked("ponder_steps")
    assert steps.min() < steps.max(), "the test needs samples that halt at different steps"
    for b in range(B):
        alone, _ = unroll(act, xs[:, b : b + 1])
        assert torch.allclose(alone[:, 0], together[:, b], atol=1e-6)


def test_act_around_the_ntm_takes_the_memory_into_the_mean_field_and_traces_ponder_steps():
    torch.manual_seed(4)
    ntm = NTMCell(IN + 1, 8, controller_size=8, memory_slots=5, memory_width=3)
    act = ACT(ntm, OUT, max_steps=4, halting_bias=0.0)
    nn.init.zeros_(act.halting_layer.weight)  # p = .5, .5 at every input step
    x = torch.randn(B, IN)
    _, state = act(x, act.initial_state(B))
    _, s1 = ntm(torch.cat([x, torch.ones(B, 1)], -1), ntm.initial_state(B))
    _, s2 = ntm(torch.cat([x, torch.zeros(B, 1)], -1), s1)
    assert torch.allclose(state.core.memory, 0.5 * s1.memory + 0.5 * s2.memory, atol=1e-6)
    trace = Trace()
    unroll(act, torch.randn(T, B, IN), trace=trace)
    assert trace.steps[0]["ponder_write_weights"].shape == (2, B, 1, 5)
    assert trace.stack("ponder_steps").shape == (T, B)


@pytest.mark.parametrize("bias", [-1e4, 1e4])
def test_saturated_halting_unit_gives_no_nan(bias):
    torch.manual_seed(5)
    act = ACT(LSTMController(IN + 1, H), OUT, max_steps=6, halting_bias=bias, tau=0.1)
    with collecting_step_terms() as terms:
        y, _ = unroll(act, torch.randn(T, B, IN))
    cost = terms.stacked("ponder_cost")
    (y.sum() + cost.sum()).backward()
    assert torch.isfinite(y).all() and torch.isfinite(cost).all()
    for p in act.parameters():
        assert p.grad is None or torch.isfinite(p.grad).all()


def test_bad_settings_and_cores_raise_clear_errors():
    core = LSTMController(IN + 1, H)
    with pytest.raises(ValueError, match="tau must be >= 0"):
        ACT(core, OUT, tau=-1e-3)
    for eps in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="epsilon must lie in"):
            ACT(core, OUT, epsilon=eps)
    with pytest.raises(ValueError, match="max_steps"):
        ACT(core, OUT, max_steps=0)
    with pytest.raises(ValueError, match="halting must be one of"):
        ACT(core, OUT, halting="sometimes")
    with pytest.raises(TypeError, match="initial_state"):
        ACT(nn.LSTMCell(IN, H), OUT)
    with pytest.raises(ValueError, match="expects one step of shape"):
        ACT(core, OUT)(torch.randn(B, IN + 1), ACT(core, OUT).initial_state(B))


def test_truncated_geometric_prior_is_a_distribution_on_each_samples_steps():
    steps = torch.tensor([1.0, 3.0, 10.0])
    log_prior = truncated_geometric_log_prior(0.2, steps, 10)
    prior = log_prior.exp()
    assert torch.allclose(prior.sum(1), torch.ones(3), atol=1e-6)
    assert prior[1, 3:].sum() == 0
    assert math.isclose(prior[2, 1] / prior[2, 0], 0.8, rel_tol=1e-5)


class OneBitTask(Task):
    """A minimal bit task for loss tests: every step scored."""

    name = "one_bit"
    description = ""
    config_class = None
    input_size = IN
    output_size = 1
    train_lengths = (1, 1)

    def __init__(self):
        pass

    def sample(self, batch_size, generator, length=None):
        raise NotImplementedError

    def render(self, batch, index=0, logits=None):
        return ""


def batch_of(steps, batch, input_mask=None):
    return Batch(
        torch.randn(steps, batch, IN),
        torch.randint(0, 2, (steps, batch, 1)).float(),
        torch.ones(steps, batch),
        torch.full((batch,), steps),
        input_mask,
    )


def test_act_loss_adds_tau_times_ponder_cost_on_the_episodes_own_steps():
    torch.manual_seed(6)
    model = RecurrentModel(ACT(LSTMController(IN + 1, H), 1, tau=0.05, max_steps=5))
    input_mask = torch.ones(T, B)
    input_mask[3:, 0] = 0  # episode 0 ends after 3 steps
    batch = batch_of(T, B, input_mask)
    loss, task_loss = model.loss(OneBitTask(), batch)
    with collecting_step_terms() as terms:
        logits, _ = model(batch.inputs)
    assert torch.allclose(task_loss, OneBitTask().loss(logits, batch))
    ponder = (terms.stacked("ponder_cost") * input_mask).sum(0).mean()
    assert torch.allclose(loss, task_loss + 0.05 * ponder)


def test_pondernet_distribution_loss_and_sampled_halting():
    torch.manual_seed(7)
    act = ACT(GRUController(IN + 1, H), 1, halting="pondernet", epsilon=0.05, max_steps=8)
    nn.init.normal_(act.halting_layer.weight, std=1.0)
    nn.init.zeros_(act.halting_layer.bias)
    model = RecurrentModel(act)
    batch = batch_of(2, B)
    with collecting_step_terms() as terms:
        model(batch.inputs)
    probs = terms.extras["halting_probabilities"]
    for p in probs:
        assert torch.allclose(p.sum(1), torch.ones(B), atol=1e-6)
    assert (terms.stacked("halting_kl") >= -1e-6).all()

    # The reconstruction term is Σ_t Σ_n p_t^n L(y_t, ŷ_t^n), averaged over the batch.
    loss, expected = model.loss(OneBitTask(), batch)
    with collecting_step_terms() as terms:
        model(batch.inputs)
    manual = 0.0
    per_step = zip(
        terms.extras["ponder_logits"], terms.extras["halting_probabilities"], strict=True
    )
    for t, (y_n, p) in enumerate(per_step):
        bce = nn.functional.binary_cross_entropy_with_logits(
            y_n, batch.targets[t].unsqueeze(1).expand_as(y_n), reduction="none"
        ).squeeze(-1)
        manual = manual + (p * bce).sum(1)
    assert torch.allclose(expected, manual.mean(), atol=1e-6)
    kl = terms.stacked("halting_kl").sum(0).mean()
    assert torch.allclose(loss, expected + 0.01 * kl, atol=1e-6)
    loss.backward()
    assert act.halting_layer.weight.grad.abs().sum() > 0

    model.eval()
    for bias, steps in ((30.0, 1.0), (-30.0, 8.0)):
        nn.init.constant_(act.halting_layer.bias, bias)
        with collecting_step_terms() as terms:
            y, _ = model(batch.inputs)
        assert (terms.stacked("ponder_steps") == steps).all()
        assert torch.isfinite(y).all()


TINY_PARITY = (
    "--task.size=4 --model.core.hidden_size=32 --optim.lr=1e-2 --train.batch_size=64 "
    "--train.eval_every=50 --train.eval_sequences=500 --train.tensorboard=false "
    "--train.target=none --model.max_steps=4"
)


def tiny_parity(extra: str):
    return load_preset("parity", parse_override_args(f"{TINY_PARITY} {extra}".split()))


@pytest.mark.parametrize(
    "halting", ["--model.tau=1e-2", "--model.halting=pondernet --model.epsilon=0.05"]
)
def test_a_tiny_pondering_rnn_learns_parity_of_four_entries(tmp_path, halting):
    config = tiny_parity(f"--train.steps=300 {halting}")
    result = Trainer(config, tmp_path / "run").train(progress=False)
    first = next(r for r in read_metrics(tmp_path / "run") if r["split"] == "eval")
    assert first["sequence_error_rate"] > 0.1  # it started far from solved
    assert result.eval_metrics["sequence_error_rate"] < 0.02, result.eval_metrics
    assert 1.0 <= result.eval_metrics["ponder_steps"] <= 4.0


def test_a_resumed_pondernet_run_ends_with_the_same_parameters(tmp_path):
    pondernet = "--model.halting=pondernet --model.epsilon=0.05 --train.eval_every=5"
    straight = Trainer(tiny_parity(f"{pondernet} --train.steps=10"), tmp_path / "a")
    straight.train(progress=False)
    Trainer(tiny_parity(f"{pondernet} --train.steps=5"), tmp_path / "b").train(progress=False)
    resumed = Trainer(tiny_parity(f"{pondernet} --train.steps=10"), tmp_path / "b", resume=True)
    resumed.train(progress=False)
    for p, q in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(p, q)
    assert straight.last_eval == resumed.last_eval


@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
@pytest.mark.parametrize("halting", ["act", "pondernet"])
def test_compiled_ponder_step_matches_eager(halting, backend, device):
    torch.manual_seed(0)
    # M = 4 with a low halting bias: some samples run to M, so the last-step variant is used
    eager = RecurrentModel(
        ACT(LSTMController(IN + 1, H), OUT, halting=halting, max_steps=4, halting_bias=-1.0)
    )
    compiled = RecurrentModel(
        ACT(LSTMController(IN + 1, H), OUT, halting=halting, max_steps=4, halting_bias=-1.0)
    )
    compiled.load_state_dict(eager.state_dict())
    eager.to(device)
    compiled.to(device)
    # aot_eager checks the one-graph capture in seconds; inductor's training steps call the
    # compiled kernels directly (augrnn.compiled_step)
    compiled.compile_step(backend=backend)
    assert compiled.state_dict().keys() == eager.state_dict().keys()
    xs = torch.randn(T, B, IN, device=device)
    results = []
    for model in (eager, compiled):
        with collecting_step_terms() as terms:
            ys, state = model(xs)
        steps_mask = torch.ones(T, B, device=device)
        (ys.square().sum() + state.core.h.sum() + terms.weighted_total(steps_mask)).backward()
        grads = {name: p.grad for name, p in model.named_parameters()}
        results.append((ys.detach(), grads, terms.means(steps_mask)))
    (y_eager, g_eager, m_eager), (y_compiled, g_compiled, m_compiled) = results
    # on CUDA the compiled kernels sum in another order than the eager ones
    tolerance = {} if device.type == "cpu" else {"rtol": 1e-4, "atol": 1e-5}
    torch.testing.assert_close(y_compiled, y_eager, **tolerance)
    assert m_compiled == pytest.approx(m_eager, rel=1e-5)
    for name, grad in g_eager.items():
        torch.testing.assert_close(g_compiled[name], grad, msg=name, **tolerance)
    if backend == "inductor":
        # the first ponder step and the later ones, each called directly
        direct = compiled.core._compiled_update
        assert None not in direct._variants.values() and len(direct.captured) == 2
    with pytest.raises(ValueError, match="chunk_steps must be 1"):
        compiled.compile_step(chunk_steps=2)


def test_act_on_each_device_matches_a_float64_cpu_reference(device):
    torch.manual_seed(0)
    reference = RecurrentModel(ACT(LSTMController(IN + 1, H), OUT, max_steps=6))
    model = RecurrentModel(ACT(LSTMController(IN + 1, H), OUT, max_steps=6))
    model.load_state_dict(reference.state_dict())
    reference.double()
    model.to(device)
    xs = torch.randn(T, B, IN, dtype=torch.float64)
    results = []
    for net, inputs in ((reference, xs), (model, xs.float().to(device))):
        with collecting_step_terms() as terms:
            ys, _ = net(inputs)
        steps_mask = torch.ones(T, B, dtype=inputs.dtype, device=inputs.device)
        (ys.square().sum() + terms.weighted_total(steps_mask)).backward()
        results.append((ys, terms.stacked("ponder_steps")))
    (y_ref, steps_ref), (y, steps) = results
    assert y.device.type == device.type
    torch.testing.assert_close(steps.cpu().double(), steps_ref)
    torch.testing.assert_close(y.cpu().double(), y_ref, rtol=1e-4, atol=1e-5)
    for (name, p), q in zip(reference.named_parameters(), model.parameters(), strict=True):
        torch.testing.assert_close(q.grad.cpu().double(), p.grad, rtol=1e-3, atol=1e-5, msg=name)


@pytest.mark.parametrize("halting", ["act", "pondernet"])
@pytest.mark.parametrize("last", [False, True])
def test_first_ponder_step_folds_constants_exactly(halting, last):
    """Ponder step 1 with its constants folded in gives the general update's values and
    gradients, for samples that halt there and samples that go on."""
    torch.manual_seed(0)
    act = ACT(LSTMController(4, 6), 3, halting=halting, epsilon=0.1).double()
    nn.init.normal_(act.halting_layer.weight, std=3.0)  # h spread over (0, 1)
    x = torch.randn(7, 3, dtype=torch.float64)
    state = act.initial_state(7, dtype=torch.float64)
    first, _ = act._ponder_inputs(x)
    stop = torch.tensor(last)

    def run(loop):
        act.zero_grad()
        new, p, y = act._ponder_update(first, loop, act._readout(), stop, None)
        tensors = [t for t in new if isinstance(t, torch.Tensor)]
        tensors += [t for part in (new.core_state, new.mean_state) for t in part] + [p, y]
        draws = torch.Generator().manual_seed(0)
        weighted = [
            (t * torch.randn(t.shape, generator=draws, dtype=t.dtype)).sum()
            for t in tensors
            if t.requires_grad
        ]
        sum(weighted).backward()
        return tensors, {n: q.grad.clone() for n, q in act.named_parameters()}

    ones, zeros = torch.ones(7, dtype=torch.float64), torch.zeros(7, dtype=torch.float64)
    pondernet_only = ones if halting == "pondernet" else None
    no_sums = (torch.zeros(7, 3, dtype=torch.float64), tree_map(torch.zeros_like, state.core))
    general = _PonderLoop(state.core, ones, zeros, pondernet_only, zeros, zeros, *no_sums)
    folded, folded_grads = run(_PonderLoop(state.core, *[None] * 7))
    expected, expected_grads = run(general)
    _, _, h = act._ponder_step(first, state.core, act._readout(), None)
    assert 0 < int((h >= 0.9).sum()) < 7  # some samples halt at step 1, some go on
    for got, want in zip(folded, expected, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    for name, grad in expected_grads.items():
        torch.testing.assert_close(folded_grads[name], grad, rtol=0, atol=1e-12, msg=name)


def test_a_ponder_step_compiled_on_one_device_called_on_another_is_a_clear_error():
    act = ACT(LSTMController(IN + 1, H), OUT, max_steps=4)
    act.compile_step(backend="aot_eager")
    act.to("meta")  # another device, with no compute: the check comes first
    state = act.initial_state(B, device="meta")
    with pytest.raises(RuntimeError, match="ACT's step was compiled for cpu but is called on meta"):
        act(torch.randn(B, IN, device="meta"), state)
