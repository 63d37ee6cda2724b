"""ACT's cost per ponder step against the wrapped core alone, at the same number of ponder steps.

The halting unit is fixed (zero weights, bias logit(1/n)) so that every input step takes exactly
n ponder steps (h = 1/n at every step, so Σh first reaches 1 − ε at step n; for n = 1, h ≈ 1).
The baseline unrolls the bare core n steps per input step over the same inputs (with the
first-step flag), applies the same output layer to every step and takes the same loss on the last
step of each input. So both do the same core computation; the ratio is what ACT's halting,
mean-field state and output cost on top.

Inputs (``input_steps``, B, 10), targets (``input_steps``, B, 4), MSE loss; a step is forward +
backward (no optimiser, so the halting unit stays fixed). Cores: ``lstm`` (an LSTM of
``hidden_size``) and ``ntm`` (an NTM cell with output ``hidden_size``, an LSTM controller of
``controller_size``, memory ``memory_slots`` x ``memory_width``). Contenders per core and n:
``alone`` and ``act_eager``, and where ACT has ``compile_step`` and compiling is on,
``alone_compiled`` (the core and output layer as one ``torch.compile``d step) and
``act_compiled`` (after ``ACT.compile_step()``), both calling their compiled kernels directly in
training (:mod:`augrnn.compiled_step`), each compiled before the timing with a fresh
compile cache (``compile_s``: the wall time of its first call, compiling plus one step).
Reported per input step: milliseconds, and ``ratio_to_alone``, each variant against the core
alone in the same mode (eager against eager, compiled against compiled).
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
    call_seconds,
    environment,
    format_table,
    mib,
    peak_memory,
    time_alternating,
    with_defaults,
)
from augrnn.compiled_step import with_direct_calls
from augrnn.controllers import LSTMController
from augrnn.core import collecting_step_terms, compile_fresh
from augrnn.memory.ntm import NTMCell

NAME = "act"
DEFAULT_BATCH_SIZES = (1, 32)
INPUT, OUTPUT = 10, 4
SIZES = {
    "cores": ("lstm", "ntm"),
    "ponder": (1, 2, 4),
    "input_steps": 10,
    "hidden_size": 128,
    "controller_size": 100,
    "memory_slots": 128,
    "memory_width": 20,
}
CORES = ("lstm", "ntm")
NTM_SIZES = ("controller_size", "memory_slots", "memory_width")


def make_core(kind: str, hidden_size: int, **ntm_sizes: int) -> nn.Module:
    """The core ACT wraps: input (B, INPUT + 1), the +1 being the first-step flag; output
    (B, hidden_size). ``ntm_sizes``: the NTM's controller_size, memory_slots, memory_width."""
    if kind == "lstm":
        return LSTMController(INPUT + 1, hidden_size)
    if kind == "ntm":
        return NTMCell(INPUT + 1, hidden_size, **ntm_sizes)
    raise ValueError(f"unknown core {kind!r}; choose one of {', '.join(CORES)}")


def fixed_ponder_act(kind: str, ponder: int, hidden_size: int, **ntm_sizes: int) -> ACT:
    """ACT around ``kind`` whose every input step takes exactly ``ponder`` steps."""
    act = ACT(make_core(kind, hidden_size, **ntm_sizes), OUTPUT, max_steps=ponder, tau=1e-3)
    nn.init.zeros_(act.halting_layer.weight)
    bias = 20.0 if ponder == 1 else math.log((1 / ponder) / (1 - 1 / ponder))
    nn.init.constant_(act.halting_layer.bias, bias)
    return act


def build_step(
    contender: str,
    *,
    device: str,
    batch_size: int,
    core: str,
    ponder: int,
    input_steps: int,
    hidden_size: int,
    **ntm_sizes: int,
) -> Step:
    """Forward + backward of ``contender`` on fixed seeded inputs (the same for all)."""
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(input_steps, batch_size, INPUT, generator=generator).to(device)
    targets = torch.randn(input_steps, batch_size, OUTPUT, generator=generator).to(device)
    torch.manual_seed(0)
    act = fixed_ponder_act(core, ponder, hidden_size, **ntm_sizes).to(device)
    if contender in ("alone", "alone_compiled"):
        return _bare_step(act, inputs, targets, ponder, compiled=contender == "alone_compiled")
    if contender == "act_compiled":
        act.compile_step()
    elif contender != "act_eager":
        raise ValueError(f"unknown act contender {contender!r}")
    ones = torch.ones(inputs.shape[:2], device=device)

    def step() -> None:
        state = act.initial_state(inputs.shape[1], device=device)
        outputs = []
        with collecting_step_terms() as terms:
            for x in inputs:
                y, state = act(x, state)
                outputs.append(y)
        loss = nn.functional.mse_loss(torch.stack(outputs), targets)
        (loss + terms.weighted_total(ones)).backward()
        act.zero_grad(set_to_none=True)

    return step


def _bare_step(
    act: ACT, inputs: torch.Tensor, targets: torch.Tensor, ponder: int, compiled: bool
) -> Step:
    core, output_layer = act.core, act.output_layer

    def ponder_step(x: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        features, state = core(x, state)
        return output_layer(features), state

    if compiled:
        # compiled as ACT.compile_step() compiles its ponder step, with its kernels called
        # directly, so like is set beside like
        compile_kwargs: dict[str, Any] = {"fullgraph": True, "dynamic": False}
        wrapped = compile_fresh(ponder_step, act, **compile_kwargs)
        ponder_step = with_direct_calls(ponder_step, act, wrapped, compile_kwargs)
    flags = inputs.new_ones(*inputs.shape[:2], 1)
    flag_first = torch.cat([inputs, flags], -1)
    flag_rest = torch.cat([inputs, torch.zeros_like(flags)], -1)

    def step() -> None:
        state = core.initial_state(inputs.shape[1], device=inputs.device)
        outputs = []
        for t in range(inputs.shape[0]):
            for n in range(ponder):
                y, state = ponder_step(flag_first[t] if n == 0 else flag_rest[t], state)
            outputs.append(y)
        nn.functional.mse_loss(torch.stack(outputs), targets).backward()
        act.zero_grad(set_to_none=True)

    return step


def ponder_steps_taken(
    kind: str, ponder: int, hidden_size: int, batch_size: int, **ntm_sizes: int
) -> float:
    """The mean number of ponder steps the fixed halting unit gives (checked to equal n)."""
    act = fixed_ponder_act(kind, ponder, hidden_size, **ntm_sizes)
    with collecting_step_terms() as terms, torch.no_grad():
        act(torch.randn(batch_size, INPUT), act.initial_state(batch_size))
    return terms.stacked("ponder_steps").float().mean().item()


def run(options: Options, **sizes: Any) -> dict[str, Any]:
    """Time the contenders for each core, n and batch size; ``sizes`` override :data:`SIZES`."""
    sizes = with_defaults(NAME, SIZES, sizes)
    for kind in sizes["cores"]:
        if kind not in CORES:
            raise ValueError(f"unknown core {kind!r}; choose from {', '.join(CORES)}")
    compiled = options.compile and hasattr(ACT, "compile_step")
    skipped = None
    if options.compile and not compiled:
        skipped = "act_compiled skipped: this version of augrnn.act.ACT has no compile_step()"
    contenders = ["alone", "act_eager"]
    if compiled:
        contenders += ["alone_compiled", "act_compiled"]
    time_steps = sizes["input_steps"]
    results = []
    for batch_size in options.sizes(DEFAULT_BATCH_SIZES):
        for kind in sizes["cores"]:
            for ponder in sizes["ponder"]:
                ntm_sizes = {k: sizes[k] for k in NTM_SIZES}
                taken = ponder_steps_taken(
                    kind, ponder, sizes["hidden_size"], batch_size, **ntm_sizes
                )
                if taken != ponder:
                    raise RuntimeError(f"expected {ponder} ponder steps, the halting gave {taken}")
                params = {
                    "batch_size": batch_size,
                    "core": kind,
                    "ponder": ponder,
                    "input_steps": time_steps,
                    "hidden_size": sizes["hidden_size"],
                    **ntm_sizes,
                }
                # A fresh compile cache per setting: its compile times are its own, and graphs
                # compiled for another core are never matched against this one.
                torch._dynamo.reset()
                steps = {c: build_step(c, device=options.device, **params) for c in contenders}
                compile_s = {}
                for contender in ("alone_compiled", "act_compiled"):
                    if contender in steps:
                        start = time.perf_counter()
                        call_seconds(steps[contender], options.device)
                        compile_s[contender] = time.perf_counter() - start
                medians = time_alternating(
                    steps, options.repeats, options.warmup, options.device, options.min_time
                )
                baseline = {c: "alone_compiled" if "compiled" in c else "alone" for c in contenders}
                for contender in contenders:
                    seconds = medians[contender]
                    results.append(
                        {
                            "batch_size": batch_size,
                            "core": kind,
                            "ponder_steps": ponder,
                            "contender": contender,
                            "ms_per_input_step": 1e3 * seconds / time_steps,
                            "sequences_per_s": batch_size / seconds,
                            "ratio_to_alone": seconds / medians[baseline[contender]],
                            "compile_s": compile_s.get(contender),
                            "peak_memory_bytes": peak_memory(NAME, contender, params, options),
                        }
                    )
    return {
        "benchmark": NAME,
        "measures": "ACT forward + backward per input step against its core alone, same ponder",
        **environment(options),
        **{k: v for k, v in sizes.items() if k not in ("cores", "ponder")},
        "skipped": skipped,
        "results": results,
    }


def table(report: dict[str, Any]) -> str:
    text = format_table(
        [
            ("batch", lambda r: str(r["batch_size"])),
            ("core", lambda r: r["core"]),
            ("ponder", lambda r: str(r["ponder_steps"])),
            ("contender", lambda r: r["contender"]),
            ("ms/input", lambda r: f"{r['ms_per_input_step']:.3f}"),
            ("seq/s", lambda r: f"{r['sequences_per_s']:.1f}"),
            ("x alone", lambda r: f"{r['ratio_to_alone']:.2f}x"),
            ("compile s", lambda r: "-" if r["compile_s"] is None else f"{r['compile_s']:.1f}"),
            ("peak MiB", lambda r: mib(r["peak_memory_bytes"])),
        ],
        report["results"],
    )
    return text + (f"\n{report['skipped']}" if report["skipped"] else "")
