"""The model interface: what every trainable model gives the trainer, evaluation, viz and the CLI.

Everything above the recurrent core speaks to a model through :class:`Model` alone, never
through its class: the trainer asks it for its loss, evaluation for its outputs, viz for its
outputs and a :class:`~augrnn.core.Trace`. Optional capabilities (a compiled step, gradient
checkpointing, decoding options) are declared as class attributes, not probed.

A model *kind* is a name in the model registry (:mod:`augrnn.registry`) bound to a
:class:`ModelKind`: the kind's config dataclass (a :class:`ModelConfig` holding only that
model's settings, named as its constructor names them) and its builder. A kind that is a
recurrent core (an LSTM, an NTM, ACT) builds a :class:`~augrnn.core.Core`, which a
:class:`~augrnn.sequence.RecurrentModel` runs over sequences and which other kinds may nest
(ACT's ``core``); a kind that is a whole model (an encoder-decoder, the Neural Programmer)
builds a :class:`Model`.

A new model is one package: its module defines the config, the builder and a ``MODEL_KINDS``
tuple; a third-party package registers it through the entry-point group ``augrnn.models``, or a
preset names it as ``kind = "package.module:Name"`` (see :mod:`augrnn.registry`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from torch import Tensor, nn

from augrnn.core import Core, Trace
from augrnn.settings import Range, check_settings


@dataclass
class ModelConfig:
    """Base of every model kind's settings. A subclass is a dataclass with only its model's
    fields; a field made with :func:`core_field` holds a nested core's config (ACT's ``core``),
    written in a preset as a sub-table (``[model.core]``) with a ``kind`` of its own. Each
    numeric field has its valid range in ``RANGES`` (:mod:`augrnn.settings`), checked when the
    config is made; a subclass with a ``__post_init__`` of its own calls this one."""

    RANGES: ClassVar[dict[str, Range]] = {}

    def __post_init__(self) -> None:
        check_settings(self)

    def summary(self, kind: str) -> str:
        """A short description for listings, given the name this config's kind is registered
        under: the name itself unless a kind says more (``"rnn + act"``, ``"seq2seq +
        bahdanau"``); see :func:`augrnn.registry.describe_model`."""
        return kind


def core_field() -> Any:
    """A config field that holds the config of a nested recurrent core (a kind with
    :attr:`ModelKind.build_core`); a kind that is not a core is refused there at config time."""
    return field(default=None, metadata={"core": True})


def is_core_field(f) -> bool:
    """Whether the dataclass field ``f`` was made with :func:`core_field`."""
    return bool(f.metadata.get("core"))


@dataclass(frozen=True)
class EvaluationContext:
    """What a held-out evaluation at one length is run on, for models' and tasks' own metrics.

    batches: the held-out episodes (as :func:`augrnn.train.evaluation.evaluation_set` draws
             them); seed: the evaluation seed they were drawn from; sequences and batch_size:
             how many and in batches of how many; length: the fixed length (None: the
             training range); beam, length_normalisation: decoding options of models that
             decode (``Model.decodes``).
    """

    batches: list[Any]
    seed: int
    sequences: int
    batch_size: int
    length: int | None = None
    beam: int = 1
    length_normalisation: float = 0.0


class Model(nn.Module, ABC):
    """A trainable model.

    A task's batch goes in whole: a :class:`~augrnn.tasks.base.Batch` of time-major sequences
    (inputs (T, B, input_size) or token ids (S, B), or images (B, C, H, W)), or a task's own
    batch type (a table question's ``TableBatch``). The outputs are what the task scores: for
    sequence tasks (T, B, K) logits.

    Capabilities, declared per class (the trainer refuses a setting the model lacks):

    supports_compile:       :meth:`compile_step` is implemented (``train.compile``).
    supports_checkpointing: :meth:`set_checkpointing` is implemented (``train.checkpoint_every``).
    decodes:                :meth:`extra_metrics` reads the decoding options of ``augrnn eval``
                            (``--beam``, ``--length-normalisation``), and the model has
                            ``decode(source, source_mask, max_length, beam_size,
                            length_normalisation)`` returning a
                            :class:`~augrnn.attention.seq2seq.Decoding` (``augrnn predict``).
    """

    supports_compile: ClassVar[bool] = False
    supports_checkpointing: ClassVar[bool] = False
    decodes: ClassVar[bool] = False

    @abstractmethod
    def loss(self, task: Any, batch: Any) -> tuple[Tensor, Tensor]:
        """The training loss on ``batch`` and its task part (scalars, in nats): the second is
        what the task's loss gives, the first adds the model's own terms (ACT's ponder cost, a
        regulariser)."""

    @abstractmethod
    def evaluation_outputs(self, batch: Any) -> Any:
        """The outputs that evaluation scores with ``task.metrics`` (a decoder generates them
        without reading the targets)."""

    @abstractmethod
    def traced(self, batch: Any) -> tuple[Any, Trace]:
        """:meth:`evaluation_outputs` on ``batch`` and a :class:`~augrnn.core.Trace` of what the
        model attended to while computing them, for the views of ``augrnn viz``."""

    def compile_step(self, chunk_steps: int = 1, direct: bool = True) -> None:
        """Compile the model's step (declared by :attr:`supports_compile`)."""
        raise NotImplementedError(f"{type(self).__name__} has no compiled step")

    def set_checkpointing(self, every: int | None) -> None:
        """Keep every ``every``-th state for the backward pass and recompute the steps between
        (declared by :attr:`supports_checkpointing`); None keeps every state."""
        raise NotImplementedError(f"{type(self).__name__} has no gradient checkpointing")

    def extra_metrics(self, task: Any, context: EvaluationContext) -> dict[str, float]:
        """Held-out metrics the model adds to the task's own (e.g. exact match of generated
        text); none by default."""
        return {}

    def describe_example(self, task: Any, batch: Any, index: int) -> list[str]:
        """Lines that ``augrnn viz`` prints about episode ``index`` (e.g. the program a Neural
        Programmer ran); none by default."""
        return []


#: build_core(config, input_size, output_size) -> Core; output_size None asks for the core's
#: own features (what a wrapper such as ACT reads out from).
CoreBuilder = Callable[[Any, int, "int | None"], Core]
#: build_model(config, input_size, output_size) -> Model.
ModelBuilder = Callable[[Any, int, int], Model]


@dataclass(frozen=True)
class ModelKind:
    """A model kind as the registry holds it.

    config_class: the kind's :class:`ModelConfig` dataclass.
    build_core:   for a recurrent core: ``(config, input_size, output_size | None) -> Core``
                  (None: the core's own features, for a wrapper's read-out); the kind's whole
                  model is then a :class:`~augrnn.sequence.RecurrentModel` around it.
    build_model:  for a whole model: ``(config, input_size, output_size) -> Model``.
    description:  one line for listings.
    commands:     ``"module:attribute"`` of click commands the kind adds to the CLI (e.g. a
                  decoder's ``predict``), imported when the CLI starts.
    views:        modules that register views for what the kind traces, imported by ``augrnn
                  viz`` (see :mod:`augrnn.viz.views`).

    The input and output sizes are the task's (``task.input_size``, ``task.output_size``).
    """

    config_class: type[ModelConfig]
    build_core: CoreBuilder | None = None
    build_model: ModelBuilder | None = None
    description: str = ""
    commands: tuple[str, ...] = ()
    views: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.build_core is None) == (self.build_model is None):
            raise ValueError("a ModelKind has exactly one of build_core and build_model")

    @property
    def is_core(self) -> bool:
        return self.build_core is not None
