"""augrnn's ACT beside the PyPI package ``pytorch-adaptive-computation-time`` on parity, in one
process, on the same inputs.

Both are ACT (Graves 2016) around a tanh RNN cell of ``hidden_size`` (the ACT paper's parity
network) with a linear read-out to one logit, τ = 1e-3, ε = 0.01, M = 100:

- ``augrnn``: ``RecurrentModel(ACT(RNNController(size + 1, hidden_size), 1))`` trained through
  its own ``loss`` (the task's binary cross-entropy plus τ Σ_t ρ_t, ρ_t = N(t) + R(t));
- ``peer``: the package's ``AdaptiveRNN(size, hidden_size, 1, time_penalty=τ)`` and an
  ``nn.Linear(hidden_size, 1)``, with the same binary cross-entropy plus the ponder cost the
  package returns. Its conventions differ from the paper's in two details: its ponder cost is
  −τ · (mean over the batch of Σ_{n ≤ N(t)} h_t^n), which is ρ_t = N(t) + R(t) up to a constant
  except that h at N(t) is counted too (its gradient in ρ_t is 0); and it halts at the first n
  with Σ_{n' ≤ n} h_t^{n'} + h_t^n > 1 − ε (the current h counted twice), one step before the
  paper's rule for the same h. It returns N(t) per sample from its cell.

A training step is forward + backward + Adam on one parity batch (``ParityTask`` with vectors
of ``size`` entries: inputs (1, B, size), targets (1, B, 1)). The halting units are fixed at the
start (zero weights; biases chosen for each convention, see :func:`halting_probability`) and
learn at rate 0 (Adam still computes their gradients and updates), so that both take exactly n
ponder steps per input, the same work; the mean ponder steps each took are measured before and
after the timing.
With compiling on (and an ACT with ``compile_step``), ``augrnn_compiled`` is augrnn's model
after ``compile_step()`` (ACT's ponder step compiled; its first call, compiling, runs before the
timing and its wall time is ``compile_s``). Reported: median seconds per step, sequences per
second, ``ratio_to_augrnn`` (each contender's step time over augrnn's eager step) and peak
memory.

Install the peer without its dependencies (its metadata pins torch < 2, its models need only
torch): ``pip install --no-deps pytorch-adaptive-computation-time``.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
from torch import nn

from augrnn.act import ACT
from augrnn.bench.common import (
    Options,
    Step,
    adam_step,
    call_seconds,
    environment,
    format_table,
    mib,
    peak_memory,
    time_alternating,
    with_defaults,
)
from augrnn.controllers import RNNController
from augrnn.core import collecting_step_terms
from augrnn.sequence import RecurrentModel
from augrnn.tasks.parity import ParityConfig, ParityTask

NAME = "peers"
PACKAGE = "pytorch-adaptive-computation-time"
INSTALL = f"pip install --no-deps {PACKAGE}"
DEFAULT_BATCH_SIZES = (1, 32, 128)
CONTENDERS = ("augrnn", "peer")
SIZES = {"size": 8, "hidden_size": 128, "ponder": (1, 3)}
TAU, EPSILON, MAX_STEPS = 1e-3, 0.01, 100


def import_peer():
    """The peer's models module, or None when the package is not installed."""
    try:
        from pytorch_adaptive_computation_time import models
    except ImportError:
        return None
    return models


def halting_probability(contender: str, ponder: int) -> float:
    """The constant h that makes ``contender`` take exactly ``ponder`` steps, with margin.

    augrnn halts at the first n with n·h ≥ 1 − ε: h = 1/(n − ½) (h ≈ 1 for n = 1). The peer
    halts at step n when (n + 1)·h > 1 − ε: h = 1/(n + ½). Both hold for n ≤ 49.
    """
    if not 1 <= ponder <= 49:
        raise ValueError(f"fixed ponder steps must be in [1, 49], got {ponder}")
    if contender == "augrnn":
        return 1 - 1e-6 if ponder == 1 else 1 / (ponder - 0.5)
    return 1 / (ponder + 0.5)


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


class PeerModel(nn.Module):
    """The peer's AdaptiveRNN with a linear read-out: inputs (T, B, size) -> logits (T, B, 1)."""

    def __init__(self, models, size: int, hidden_size: int, ponder: int):
        super().__init__()
        self.rnn = models.AdaptiveRNN(
            size,
            hidden_size,
            1,
            time_penalty=TAU,
            initial_halting_bias=_logit(halting_probability("peer", ponder)),
            ponder_epsilon=EPSILON,
            time_limit=MAX_STEPS,
        )
        nn.init.zeros_(self.halting_linear.weight)
        self.readout = nn.Linear(hidden_size, 1)

    @property
    def halting_linear(self) -> nn.Linear:
        return self.rnn._layer_cells[0]._halting_unit[0]

    def halting_parameters(self):
        return self.halting_linear.parameters()

    def loss(self, task: ParityTask, batch) -> torch.Tensor:
        outputs, _, ponder_cost = self.rnn(batch.inputs)
        return task.loss(self.readout(outputs), batch) + ponder_cost

    @torch.no_grad()
    def mean_ponder_steps(self, batch) -> float:
        _, _, steps = self.rnn._layer_cells[0](batch.inputs[0])
        return steps.float().mean().item()


class AugrnnModel(RecurrentModel):
    """augrnn's ACT around a tanh RNN as a sequence model; its halting unit's parameters apart."""

    def halting_parameters(self):
        return self.core.halting_layer.parameters()


def augrnn_model(size: int, hidden_size: int, ponder: int) -> AugrnnModel:
    core = RNNController(size + 1, hidden_size)
    act = ACT(core, 1, tau=TAU, epsilon=EPSILON, max_steps=MAX_STEPS)
    nn.init.zeros_(act.halting_layer.weight)
    nn.init.constant_(act.halting_layer.bias, _logit(halting_probability("augrnn", ponder)))
    return AugrnnModel(act)


@torch.no_grad()
def augrnn_mean_ponder_steps(model: RecurrentModel, batch) -> float:
    with collecting_step_terms() as terms:
        model(batch.inputs)
    return terms.stacked("ponder_steps").float().mean().item()


def _build(contender: str, device: str, batch_size: int, size: int, hidden_size: int, ponder):
    task = ParityTask(ParityConfig(size=size))
    batch = task.sample(batch_size, torch.Generator().manual_seed(0)).to(device)
    torch.manual_seed(0)
    if contender in ("augrnn", "augrnn_compiled"):
        model: nn.Module = augrnn_model(size, hidden_size, ponder)
    elif contender == "peer":
        models = import_peer()
        if models is None:
            raise RuntimeError(f"{PACKAGE} is not installed: {INSTALL}")
        model = PeerModel(models, size, hidden_size, ponder)
    else:
        raise ValueError(f"unknown peers contender {contender!r}; choose from {CONTENDERS}")
    model.to(device).train()
    if contender == "augrnn_compiled":
        model.compile_step()
    halting = set(model.halting_parameters())
    others = [p for p in model.parameters() if p not in halting]
    # The halting units learn at rate 0: Adam does all its work for them but they stay fixed,
    # so both keep pondering n steps.
    groups = [{"params": others}, {"params": list(halting), "lr": 0.0}]

    def loss() -> torch.Tensor:
        value = model.loss(task, batch)
        return value[0] if isinstance(value, tuple) else value  # augrnn's: (total, task part)

    step = adam_step(loss, groups, 1e-3)

    def ponder_steps() -> float:
        if contender != "peer":
            return augrnn_mean_ponder_steps(model, batch)
        return model.mean_ponder_steps(batch)

    return step, ponder_steps


def build_step(contender: str, *, device: str, **params: Any) -> Step:
    """One training step of ``contender`` (augrnn, augrnn_compiled or peer) on a fixed seeded
    parity batch."""
    return _build(contender, device, **params)[0]


def run(options: Options, **sizes: Any) -> dict[str, Any]:
    """Time augrnn's ACT and the peer's at each fixed ponder count and batch size, or, when the
    peer is not installed, return a report whose ``skipped`` says how to install it."""
    sizes = with_defaults(NAME, SIZES, sizes)
    report: dict[str, Any] = {
        "benchmark": NAME,
        "measures": "ACT training step on parity (forward + backward + Adam): peer against augrnn",
        "peer": PACKAGE,
        **environment(options),
        "size": sizes["size"],
        "hidden_size": sizes["hidden_size"],
        "skipped": None,
        "results": [],
    }
    if import_peer() is None:
        report["skipped"] = f"{PACKAGE} is not installed; to compare with it: {INSTALL}"
        return report
    from importlib.metadata import version

    report["peer_version"] = version(PACKAGE)
    contenders = list(CONTENDERS)
    if options.compile and hasattr(ACT, "compile_step"):
        contenders.insert(1, "augrnn_compiled")
    for batch_size in options.sizes(DEFAULT_BATCH_SIZES):
        for ponder in sizes["ponder"]:
            params = {
                "batch_size": batch_size,
                "size": sizes["size"],
                "hidden_size": sizes["hidden_size"],
                "ponder": ponder,
            }
            torch._dynamo.reset()  # a fresh compile cache per setting: its compile time is its own
            built = {c: _build(c, options.device, **params) for c in contenders}
            compile_s = None
            if "augrnn_compiled" in built:
                start = time.perf_counter()
                call_seconds(built["augrnn_compiled"][0], options.device)
                compile_s = time.perf_counter() - start
            before = {c: ponder_steps() for c, (_, ponder_steps) in built.items()}
            medians = time_alternating(
                {c: step for c, (step, _) in built.items()},
                options.repeats,
                options.warmup,
                options.device,
                options.min_time,
            )
            after = {c: ponder_steps() for c, (_, ponder_steps) in built.items()}
            for contender in contenders:
                seconds = medians[contender]
                results_row = {
                    "batch_size": batch_size,
                    "fixed_ponder": ponder,
                    "contender": contender,
                    "step_s": seconds,
                    "sequences_per_s": batch_size / seconds,
                    "ratio_to_augrnn": seconds / medians["augrnn"],
                    "mean_ponder_steps_before": before[contender],
                    "mean_ponder_steps_after": after[contender],
                    "compile_s": compile_s if contender == "augrnn_compiled" else None,
                    "peak_memory_bytes": peak_memory(NAME, contender, params, options),
                }
                report["results"].append(results_row)
    return report


def table(report: dict[str, Any]) -> str:
    if report["skipped"]:
        return report["skipped"]
    return format_table(
        [
            ("batch", lambda r: str(r["batch_size"])),
            ("ponder", lambda r: str(r["fixed_ponder"])),
            ("contender", lambda r: r["contender"]),
            ("step ms", lambda r: f"{1e3 * r['step_s']:.3f}"),
            ("seq/s", lambda r: f"{r['sequences_per_s']:.1f}"),
            ("x augrnn", lambda r: f"{r['ratio_to_augrnn']:.2f}x"),
            (
                "mean ponder (before/after)",
                lambda r: f"{r['mean_ponder_steps_before']:.2f}/{r['mean_ponder_steps_after']:.2f}",
            ),
            ("compile s", lambda r: "-" if r["compile_s"] is None else f"{r['compile_s']:.1f}"),
            ("peak MiB", lambda r: mib(r["peak_memory_bytes"])),
        ],
        report["results"],
    )
