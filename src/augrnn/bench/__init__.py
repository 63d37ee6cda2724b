"""Benchmarks: the augmented models' speed and memory against their baselines, in one run.

Each module times its contenders alternately (medians over repeats) and reports sequences per
second, the ratio to its baseline and peak memory (see :mod:`augrnn.bench.common`):

- ``ntm``: the copy NTM's training step, eager and compiled, against a bare ``nn.LSTMCell``;
- ``act``: ACT per ponder step against its wrapped core alone (LSTM, NTM);
- ``attention``: a decoder step with each attention type against the same decoder without;
- ``programmer``: the Neural Programmer's training step against a question-reading LSTM;
- ``peers``: augrnn's ACT against ``pytorch-adaptive-computation-time`` on parity;
- ``scaling``: the NTM's step as the memory N and the sequence length T grow, with and without
  gradient checkpointing (no baseline: it measures growth);
- ``dnc``: the DNC's training step, eager and compiled, against a bare ``nn.LSTMCell`` and the
  ``dnc`` package where it installs;
- ``dnc_scaling``: the sparse DNC's step as N grows to 1,000,000, beside the dense DNC;
- ``stack``: the stack LSTM's training step, eager and compiled, against a bare ``nn.LSTMCell``;
- ``memnet``: MemN2N's training step on bAbI against an LSTM that reads the story word by word;
- ``neural_gpu``: the Neural GPU's training step, eager and compiled, on binary addition
  against a bare ``nn.LSTMCell``;
- ``nram``: the NRAM's training step on increment against its controller alone;
- ``rl_ntm``: the RL-NTM's training step on copy, with and without a memory tape, against its
  controller alone;
- ``speech``: Listen, Attend and Spell's training step, with content-based and location-aware
  attention, against the same network without attention, CTC and its speller's cell alone.

``BENCHMARKS[name]`` is the module, with ``run(options, **sizes) -> report`` (a JSON-ready dict
whose ``results`` are the rows) and ``table(report) -> str``. Run them with ``augrnn bench``.
"""

from __future__ import annotations

from types import ModuleType

from augrnn.bench import (
    act,
    attention,
    dnc,
    dnc_scaling,
    memnet,
    neural_gpu,
    nram,
    ntm,
    peers,
    programmer,
    rl_ntm,
    scaling,
    speech,
    stack,
)
from augrnn.bench.common import Options

BENCHMARKS: dict[str, ModuleType] = {
    module.NAME: module
    for module in (
        ntm,
        act,
        attention,
        programmer,
        peers,
        scaling,
        dnc,
        dnc_scaling,
        stack,
        memnet,
        neural_gpu,
        nram,
        rl_ntm,
        speech,
    )
}

__all__ = ["BENCHMARKS", "Options"]
