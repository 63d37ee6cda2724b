"""Memory networks over stories: the end-to-end memory network (model kind ``memn2n``,
:mod:`.memn2n`), the Dynamic Memory Network and DMN+ (model kind ``dmn``, :mod:`.dmn`), what they
share (:mod:`.story_model`), their view (:mod:`.views`) and their ``answer`` command
(:mod:`.commands`)."""

from __future__ import annotations

from augrnn.interface import ModelKind
from augrnn.memnet.dmn import DMN, DMNConfig, build_dmn
from augrnn.memnet.memn2n import MemN2N, MemN2NConfig, build_memn2n

MODEL_KINDS = {
    "memn2n": ModelKind(
        MemN2NConfig,
        build_model=build_memn2n,
        description="the end-to-end memory network over a story's statements",
        commands=("augrnn.memnet.commands:answer",),
        views=("augrnn.memnet.views",),
    ),
    "dmn": ModelKind(
        DMNConfig,
        build_model=build_dmn,
        description="the Dynamic Memory Network (DMN+ by its options) over a story's statements",
        views=("augrnn.memnet.views",),
    ),
}

__all__ = ["DMN", "MODEL_KINDS", "DMNConfig", "MemN2N", "MemN2NConfig"]
