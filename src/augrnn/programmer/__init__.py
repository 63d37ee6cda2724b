"""The Neural Programmer (model kind ``programmer``), its additions that are not in the paper
(:mod:`.regularisers`), program search (:mod:`.search`) and an LSTM baseline for the same task
(model kind ``table_lstm``). The operations over tables are :mod:`augrnn.table_operations`."""

from __future__ import annotations

from augrnn.interface import ModelKind
from augrnn.programmer.model import NeuralProgrammer, NeuralProgrammerConfig, build_programmer
from augrnn.programmer.table_lstm import TableLSTM, TableLSTMConfig, build_table_lstm
from augrnn.table_operations import OPERATIONS, ProgramOutputs, ProgramState

MODEL_KINDS = {
    "programmer": ModelKind(
        NeuralProgrammerConfig,
        build_model=build_programmer,
        description="the Neural Programmer over tables",
        commands=("augrnn.programmer.commands:ask",),
        views=("augrnn.programmer.views",),
    ),
    "table_lstm": ModelKind(
        TableLSTMConfig,
        build_model=build_table_lstm,
        description="an LSTM over the question and the table's cells",
    ),
}

__all__ = [
    "MODEL_KINDS",
    "OPERATIONS",
    "NeuralProgrammer",
    "NeuralProgrammerConfig",
    "ProgramOutputs",
    "ProgramState",
    "TableLSTM",
    "TableLSTMConfig",
]
