"""The reinforcement-learning Neural Turing Machine (model kind ``rl_ntm``, :mod:`.model`;
Zaremba & Sutskever 2015): an LSTM that moves discrete heads over an input tape and a memory
tape and chooses when to write its output, trained with REINFORCE (:mod:`.reinforce`) or, with
soft interfaces (:mod:`.soft`), by backpropagation alone, and its view (:mod:`.views`). Its
tasks are :mod:`augrnn.tasks.tapes`."""

from __future__ import annotations

from augrnn.interface import ModelKind
from augrnn.rl_ntm.model import RLNTM, RLNTMConfig, build_rl_ntm

MODEL_KINDS = {
    "rl_ntm": ModelKind(
        RLNTMConfig,
        build_model=build_rl_ntm,
        description="the RL-NTM: discrete heads on an input tape and a memory tape, and when "
        "to emit, trained with REINFORCE",
        views=("augrnn.rl_ntm.views",),
    ),
}

__all__ = ["MODEL_KINDS", "RLNTM", "RLNTMConfig"]
