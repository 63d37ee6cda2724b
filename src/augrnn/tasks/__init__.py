"""augrnn's own tasks by name (the registry, with plugins, is :mod:`augrnn.registry`)."""

from __future__ import annotations

from augrnn.tasks.addition import AdditionTask
from augrnn.tasks.associative_recall import AssociativeRecallTask
from augrnn.tasks.babi import BabiTask
from augrnn.tasks.base import Batch, Task, TaskConfig
from augrnn.tasks.copy import CopyTask
from augrnn.tasks.dates import DatesTask
from augrnn.tasks.digit_row import DigitRowTask
from augrnn.tasks.graph import GraphTask
from augrnn.tasks.itg import GenderConjugationTask, SvoSovTask
from augrnn.tasks.logic import LogicTask
from augrnn.tasks.long_numbers import LONG_NUMBER_TASKS
from augrnn.tasks.ngrams import NGramsTask
from augrnn.tasks.parity import ParityTask
from augrnn.tasks.patterns import PATTERN_TASKS
from augrnn.tasks.pointers import POINTER_TASKS
from augrnn.tasks.priority_sort import PrioritySortTask
from augrnn.tasks.repeat_copy import RepeatCopyTask
from augrnn.tasks.reversal import ReversalTask
from augrnn.tasks.sort import SortTask
from augrnn.tasks.speech import SpeechTask
from augrnn.tasks.symbol_sort import SymbolSortTask
from augrnn.tasks.table_qa import TableQATask
from augrnn.tasks.tapes import TAPE_TASKS
from augrnn.tasks.transduction import (
    BigramFlipTask,
    TransductionCopyTask,
    TransductionReversalTask,
)
from augrnn.tasks.written_addition import WrittenAdditionTask, WrittenBinaryAdditionTask

TASKS: dict[str, type[Task]] = {
    task.name: task
    for task in (
        CopyTask,
        RepeatCopyTask,
        AssociativeRecallTask,
        NGramsTask,
        PrioritySortTask,
        ParityTask,
        LogicTask,
        AdditionTask,
        SortTask,
        ReversalTask,
        SymbolSortTask,
        WrittenAdditionTask,
        WrittenBinaryAdditionTask,
        DatesTask,
        DigitRowTask,
        TableQATask,
        GraphTask,
        TransductionCopyTask,
        TransductionReversalTask,
        BigramFlipTask,
        SvoSovTask,
        GenderConjugationTask,
        *PATTERN_TASKS,
        BabiTask,
        *LONG_NUMBER_TASKS,
        *POINTER_TASKS,
        *TAPE_TASKS,
        SpeechTask,
    )
}


__all__ = ["TASKS", "Batch", "Task", "TaskConfig"]
