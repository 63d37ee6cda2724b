"""ACT's overhead: time per input step of ACT around a core against the core alone, at the same
number of ponder steps, in one run.

The halting unit is fixed so that every input step takes exactly n ponder steps (h = 1/n at every
step, so Σh first reaches 1 − ε at step n; for n = 1, h ≈ 1). The baseline unrolls the bare core
for n steps per input step over the same inputs (with the first-step flag), applies the same
output layer to every step and takes the same loss on the last step of each input. So both do the
same core computation; the ratio is what ACT's halting, mean-field state and output cost on top.
Timings are forward + backward, alternating within each repeat; figures are medians.

    python benchmarks/bench_act.py [--cores lstm,ntm] [--ponder 1,2,4] [--batch-size 32]
                                   [--repeats 15] [--threads N] [--json out.json]
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics

import torch
from torch import nn

from augrnn.act import ACT
from augrnn.controllers import LSTMController
from augrnn.core import collecting_step_terms
from augrnn.memory.ntm import NTMCell
from common import add_run_options, finish, seconds, set_threads

INPUT, HIDDEN, OUTPUT, TIME = 10, 128, 4, 10


def make_core(kind: str) -> nn.Module:
    if kind == "lstm":
        return LSTMController(INPUT + 1, HIDDEN)
    if kind == "ntm":
        return NTMCell(INPUT + 1, HIDDEN, controller_size=100, memory_slots=128, memory_width=20)
    raise ValueError(f"unknown core {kind!r}; choose lstm or ntm")


def fixed_ponder_act(kind: str, ponder: int) -> ACT:
    act = ACT(make_core(kind), OUTPUT, max_steps=max(ponder, 1), tau=1e-3)
    nn.init.zeros_(act.halting_layer.weight)
    bias = 20.0 if ponder == 1 else math.log((1 / ponder) / (1 - 1 / ponder))
    nn.init.constant_(act.halting_layer.bias, bias)
    return act


def act_step(act: ACT, inputs: torch.Tensor, targets: torch.Tensor):
    def step() -> None:
        state = act.initial_state(inputs.shape[1])
        outputs = []
        with collecting_step_terms() as terms:
            for x in inputs:
                y, state = act(x, state)
                outputs.append(y)
        loss = nn.functional.mse_loss(torch.stack(outputs), targets)
        loss = loss + terms.weighted_total(torch.ones(inputs.shape[:2]))
        loss.backward()
        act.zero_grad(set_to_none=True)

    return step


def bare_step(act: ACT, inputs: torch.Tensor, targets: torch.Tensor, ponder: int):
    core, output_layer = act.core, act.output_layer
    flag_first = torch.cat([inputs, torch.ones(*inputs.shape[:2], 1)], -1)
    flag_rest = torch.cat([inputs, torch.zeros(*inputs.shape[:2], 1)], -1)

    def step() -> None:
        state = core.initial_state(inputs.shape[1])
        outputs = []
        for t in range(inputs.shape[0]):
            for n in range(ponder):
                features, state = core(flag_first[t] if n == 0 else flag_rest[t], state)
                y = output_layer(features)
            outputs.append(y)
        nn.functional.mse_loss(torch.stack(outputs), targets).backward()
        core.zero_grad(set_to_none=True)
        output_layer.zero_grad(set_to_none=True)

    return step


def run(cores: list[str], ponders: list[int], batch_size: int, repeats: int) -> dict:
    torch.manual_seed(0)
    inputs = torch.randn(TIME, batch_size, INPUT)
    targets = torch.randn(TIME, batch_size, OUTPUT)
    results = []
    for kind in cores:
        for ponder in ponders:
            act = fixed_ponder_act(kind, ponder)
            with collecting_step_terms() as terms, torch.no_grad():
                act(inputs[0], act.initial_state(batch_size))
            taken = terms.stacked("ponder_steps")
            assert bool((taken == ponder).all()), f"expected {ponder} ponder steps, got {taken}"
            with_act = act_step(act, inputs, targets)
            alone = bare_step(act, inputs, targets, ponder)
            for _ in range(3):
                with_act()
                alone()
            act_times, bare_times = [], []
            for _ in range(repeats):
                act_times.append(seconds(with_act))
                bare_times.append(seconds(alone))
            act_s, bare_s = statistics.median(act_times), statistics.median(bare_times)
            results.append(
                {
                    "core": kind,
                    "ponder_steps": ponder,
                    "act_ms_per_input_step": 1e3 * act_s / TIME,
                    "core_alone_ms_per_input_step": 1e3 * bare_s / TIME,
                    "ratio": act_s / bare_s,
                }
            )
    return {
        "benchmark": "act_overhead_forward_backward",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "batch_size": batch_size,
        "input_steps": TIME,
        "repeats": repeats,
        "results": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", default="lstm,ntm")
    parser.add_argument("--ponder", default="1,2,4")
    parser.add_argument("--batch-size", type=int, default=32)
    add_run_options(parser)
    args = parser.parse_args()
    set_threads(args)
    report = run(
        args.cores.split(","),
        [int(n) for n in args.ponder.split(",")],
        args.batch_size,
        args.repeats,
    )
    print(
        f"torch {report['torch']}, {report['threads']} threads, batch {args.batch_size}, "
        f"medians of {args.repeats}; forward + backward per input step"
    )
    print(f"{'core':>5}  {'ponder':>6}  {'ACT ms':>8}  {'alone ms':>8}  {'ACT/alone':>9}")
    for r in report["results"]:
        print(
            f"{r['core']:>5}  {r['ponder_steps']:>6}  {r['act_ms_per_input_step']:>8.2f}  "
            f"{r['core_alone_ms_per_input_step']:>8.2f}  {r['ratio']:>8.2f}x"
        )
    finish(report, args.json)


if __name__ == "__main__":
    main()
