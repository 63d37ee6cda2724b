"""The Neural Programmer: its operations over a table, the model that selects them, and an LSTM
baseline for the same task."""

from __future__ import annotations

from augrnn.programmer.model import NeuralProgrammer
from augrnn.programmer.operations import OPERATIONS, ProgramOutputs, ProgramState
from augrnn.programmer.table_lstm import TableLSTM

__all__ = ["OPERATIONS", "NeuralProgrammer", "ProgramOutputs", "ProgramState", "TableLSTM"]
