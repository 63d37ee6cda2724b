"""Memory networks over stories: the end-to-end memory network (model kind ``memn2n``,
:mod:`.memn2n`), its view (:mod:`.views`) and its ``answer`` command (:mod:`.commands`)."""

from __future__ import annotations

from augrnn.interface import ModelKind
from augrnn.memnet.memn2n import MemN2N, MemN2NConfig, build_memn2n

MODEL_KINDS = {
    "memn2n": ModelKind(
        MemN2NConfig,
        build_model=build_memn2n,
        description="the end-to-end memory network over a story's statements",
        commands=("augrnn.memnet.commands:answer",),
        views=("augrnn.memnet.views",),
    ),
}

__all__ = ["MODEL_KINDS", "MemN2N", "MemN2NConfig"]
