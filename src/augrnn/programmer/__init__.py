"""The Neural Programmer: its operations over a table and the model that selects them."""

from __future__ import annotations

from augrnn.programmer.model import NeuralProgrammer
from augrnn.programmer.operations import OPERATIONS, ProgramOutputs, ProgramState

__all__ = ["OPERATIONS", "NeuralProgrammer", "ProgramOutputs", "ProgramState"]
