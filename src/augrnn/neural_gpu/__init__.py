"""The Neural GPU (model kind ``neural_gpu``, :mod:`.model`; Kaiser & Sutskever 2015): a stack
of convolutional GRUs (:mod:`.cgru`) applied to a "mental image" as many times as the input is
long, and its view of the image over the steps (:mod:`.views`)."""

from __future__ import annotations

from augrnn.interface import ModelKind
from augrnn.neural_gpu.model import NeuralGPU, NeuralGPUConfig, build_neural_gpu

MODEL_KINDS = {
    "neural_gpu": ModelKind(
        NeuralGPUConfig,
        build_model=build_neural_gpu,
        description="the Neural GPU: convolutional GRUs over a mental image, n steps for n symbols",
        views=("augrnn.neural_gpu.views",),
    ),
}

__all__ = ["MODEL_KINDS", "NeuralGPU", "NeuralGPUConfig"]
