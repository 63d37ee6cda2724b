"""The Neural Random-Access Machine (model kind ``nram``, :mod:`.model`; Kurach, Andrychowicz &
Sutskever 2015): a controller that wires a fixed list of modules on distributions over integers
(:mod:`.modules`) into a new circuit at every timestep, reading and writing a memory through
pointers, and its view (:mod:`.views`). Its tasks are :mod:`augrnn.tasks.pointers`."""

from __future__ import annotations

from augrnn.interface import ModelKind
from augrnn.nram.model import NRAM, NRAMConfig, build_nram

MODEL_KINDS = {
    "nram": ModelKind(
        NRAMConfig,
        build_model=build_nram,
        description="the Neural Random-Access Machine: a soft circuit of modules over registers "
        "and a memory of integers",
        views=("augrnn.nram.views",),
    ),
}

__all__ = ["MODEL_KINDS", "NRAM", "NRAMConfig"]
