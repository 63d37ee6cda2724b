"""Attention over audio: Listen, Attend and Spell, its no-attention baseline and CTC.

Registered model kinds (for the ``speech`` task, :mod:`augrnn.tasks.speech`):

- ``las`` (:class:`LASConfig`): :class:`~augrnn.speech.las.LAS` with ``attention`` "content",
  "location" or "none";
- ``ctc`` (:class:`CTCConfig`): :class:`~augrnn.speech.ctc.CTC`.

``augrnn predict RUN --audio FILE.wav`` transcribes a user's recording; ``augrnn speech-corpus``
generates and caches a corpus; ``augrnn speech-eval`` scores a run at every SNR and length.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

from augrnn.interface import ModelConfig, ModelKind
from augrnn.settings import Range, at_least, between
from augrnn.speech.ctc import CTC
from augrnn.speech.las import LAS
from augrnn.speech.listener import Listener


@dataclass
class LASConfig(ModelConfig):
    """Listen, Attend and Spell (model kind ``las``): the keyword arguments of
    :class:`~augrnn.speech.las.LAS`, the paper's sizes by default."""

    #: Units of each direction of every listener layer (the paper: 256).
    listener_size: int = 256
    #: pBLSTM layers above the first BLSTM, each halving the time resolution (the paper: 3).
    pyramid_layers: int = 3
    #: Units of each speller LSTM layer (the paper: 512) and their number (the paper: 2).
    speller_size: int = 512
    speller_layers: int = 2
    embedding_size: int = 64
    #: "content", "location" (Chorowski's location-aware) or "none" (no attention).
    attention: str = "content"
    #: Width of the attention's hidden layer.
    attention_size: int = 128
    #: Location-aware attention: filters and their (odd) width over the listener's steps.
    location_channels: int = 10
    location_kernel: int = 31
    #: Probability of feeding the true previous character in training (the paper: 0.9).
    teacher_forcing: float = 0.9

    RANGES: ClassVar[dict[str, Range]] = {
        "listener_size": at_least(1),
        "pyramid_layers": between(0, 6),
        "speller_size": at_least(1),
        "speller_layers": at_least(1),
        "embedding_size": at_least(1),
        "attention_size": at_least(1),
        "location_channels": at_least(1),
        "location_kernel": at_least(1),
        "teacher_forcing": between(0, 1),
    }

    def summary(self, kind: str) -> str:
        return f"{kind} + {self.attention}"


@dataclass
class CTCConfig(ModelConfig):
    """The CTC baseline (model kind ``ctc``): the LAS listener and a CTC read-out."""

    listener_size: int = 256
    pyramid_layers: int = 1

    RANGES: ClassVar[dict[str, Range]] = {
        "listener_size": at_least(1),
        "pyramid_layers": between(0, 6),
    }


def _settings(config: ModelConfig) -> dict:
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}


def build_las(config: LASConfig, input_size: int, output_size: int) -> LAS:
    """A LAS reading ``input_size`` features per frame and writing ``output_size`` characters."""
    return LAS(input_size, output_size, **_settings(config))


def build_ctc(config: CTCConfig, input_size: int, output_size: int) -> CTC:
    return CTC(input_size, output_size, **_settings(config))


MODEL_KINDS = {
    "las": ModelKind(
        LASConfig,
        build_model=build_las,
        description="Listen, Attend and Spell: a pyramidal BLSTM listener and an attending speller",
        commands=("augrnn.speech.commands:speech_corpus", "augrnn.speech.commands:speech_eval"),
        views=("augrnn.speech.views",),
    ),
    "ctc": ModelKind(
        CTCConfig,
        build_model=build_ctc,
        description="the CTC baseline: the LAS listener with a CTC read-out",
        views=("augrnn.speech.views",),
    ),
}

__all__ = ["CTC", "LAS", "MODEL_KINDS", "CTCConfig", "LASConfig", "Listener"]
