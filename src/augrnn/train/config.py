"""Run configuration: dataclasses, TOML presets and dotted ``--key=value`` overrides.

A preset is a TOML file with the sections ``[task]`` (``name`` plus that task's settings),
``[model]``, ``[act]``, ``[optim]`` and ``[train]``. Anything a preset leaves out takes the
dataclass default.
Overrides address fields by section and name: ``--train.batch_size=32 --task.max_length=30``.
TOML has no null: an optional setting is switched off with the string ``"none"``.
An unknown key or a value of the wrong type is an error that lists the valid keys.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from augrnn.act import HALTING_SCHEMES, check_halting_settings
from augrnn.tasks import TASKS, TaskConfig, get_task_class


class ConfigError(ValueError):
    """A preset or an override that does not fit the configuration."""


@dataclass
class ModelConfig:
    """The model: an NTM (``kind = "ntm"``), a plain recurrent stack with a linear read-out
    (``kind = "lstm"``, ``"gru"`` or ``"rnn"``, the last a tanh RNN), an attentional
    encoder-decoder over token ids (``kind = "seq2seq"``, :class:`augrnn.attention.Seq2Seq`) or
    a CNN encoder with an attentional LSTM decoder over images (``kind = "show_attend_tell"``,
    :class:`augrnn.attention.show_attend_tell.ShowAttendTell`; it reads ``hidden_size``,
    ``embedding_size`` and ``attention``: "soft" or "bahdanau", the same additive attention, or
    "none", the baseline whose context is the mean CNN feature)."""

    kind: str = "ntm"
    controller: str = "lstm"
    controller_size: int = 100
    controller_layers: int = 1
    memory_slots: int = 128
    memory_width: int = 20
    read_heads: int = 1
    write_heads: int = 1
    shift_width: int = 3
    memory_init: str = "constant"
    similarity: str = "cosine"
    clip_controller_outputs: float | None = 20.0
    #: NTM: clamp the gradient of each step's incoming state to ±this value inside
    #: backpropagation through time (None: exact gradients).
    clip_state_gradients: float | None = None
    #: Width and depth of the recurrent stack (``kind = "lstm"``, ``"gru"``, ``"rnn"``); for
    #: ``kind = "seq2seq"`` the width of the decoder and of the two encoder directions together.
    hidden_size: int = 256
    num_layers: int = 3
    #: Seq2seq: width of the source and target token embeddings.
    embedding_size: int = 64
    #: Seq2seq: recurrent unit of the bidirectional encoder and of the decoder, "gru" or "lstm".
    encoder: str = "gru"
    #: Seq2seq: "bahdanau", "luong_dot", "luong_general", "luong_concat", "scaled_dot" or
    #: "none" (no attention; see ``no_attention_context``).
    attention: str = "bahdanau"
    #: Seq2seq without attention: the fixed context, the encoder's "final" state or the "mean"
    #: of its states.
    no_attention_context: str = "final"
    #: Seq2seq: Luong's local-p attention with window half-width D (luong_* only; None: global).
    local_window: int | None = None
    #: Seq2seq: probability of feeding the true previous token in training (never in evaluation).
    teacher_forcing: float = 1.0
    #: Show, attend and tell (``kind = "show_attend_tell"``): width D of the CNN's feature maps
    #: (its first layer has half as many).
    cnn_channels: int = 64
    #: Show, attend and tell: sinusoidal column encodings appended to each CNN feature vector
    #: (0: none), so that the attention can tell left from right.
    position_features: int = 16
    #: Show, attend and tell: the gate β_t = σ(f_β(h_{t−1})) on the attended context.
    attention_gate: bool = True
    #: Show, attend and tell: λ of the doubly stochastic regulariser λ Σ_i (1 − Σ_t α_ti)².
    doubly_stochastic: float = 1.0
    #: Neural Programmer (``kind = "programmer"``, :class:`augrnn.programmer.NeuralProgrammer`;
    #: it reads ``embedding_size`` and ``hidden_size``, as does its LSTM baseline ``kind =
    #: "table_lstm"``, :class:`augrnn.programmer.TableLSTM`): the number T of program steps.
    program_steps: int = 4
    #: Neural Programmer: k of the soft comparisons σ(k (T − pivot ∓ ½)) of greater / lesser.
    comparison_sharpness: float = 20.0
    #: Neural Programmer: η of the decaying gradient noise N(0, η / (1 + t)^0.55) (0: none).
    gradient_noise: float = 0.0
    #: Neural Programmer: read the question with a bidirectional RNN (the paper's choice for
    #: longer questions).
    bidirectional_question: bool = False
    #: Neural Programmer: β of the loss-weighted selection entropy: each episode's loss ℓ
    #: becomes ℓ − β · ℓ̄ · H̄, with ℓ̄ its value held constant and H̄ the mean normalised
    #: entropy of the operation and column selections, so that wrong programs stay soft while
    #: right ones settle (0: the paper's loss).
    selection_entropy: float = 0.0
    #: Neural Programmer: what β weighs: "entropy" (ℓ − β · ℓ̄ · H̄) or "uniform_kl" (ℓ + β · ℓ̄
    #: · K̄, K̄ the normalised KL from the uniform choice, whose gradient stays whole where a
    #: softmax has saturated, so a selection saturated on a wrong choice can come back).
    selection_penalty: str = "entropy"
    #: Neural Programmer: the most ℓ̄ weighs in that term ("none": no bound), so that the
    #: question types with the largest losses do not outweigh the rest.
    selection_loss_cap: float | None = None
    #: Neural Programmer: the soft ``and`` of two row selectors as their product instead of
    #: their minimum (the same on 0/1 selectors).
    and_product: bool = False
    #: Neural Programmer: σ of Gaussian noise added in training to the operation selector's
    #: scores, independently at every step of every episode (0: none, as in the paper).
    operation_noise: float = 0.0
    #: Neural Programmer: the soft max and min mark each row with the chance that it holds the
    #: extreme of a selection drawn row by row from the soft row selector, instead of the
    #: extreme among the rows weighted above ½ (the same on 0/1 selectors).
    expected_extremes: bool = False
    #: Neural Programmer: λ of −log P(answer) in the training loss, the probability that a hard
    #: program drawn from the selector answers right (a scalar, or a lookup's cells), summed
    #: over every program (0: none, as in the paper).
    program_search: float = 0.0
    #: Neural Programmer: how many episodes of each batch (the first) program search executes
    #: every program on.
    program_search_episodes: int = 16


@dataclass
class ActConfig:
    """Pondering around the model's core (see :mod:`augrnn.act`): ``halting = "none"`` (no
    pondering), ``"act"`` (Graves 2016) or ``"pondernet"`` (Banino et al. 2021). The defaults
    are the ACT paper's, except τ, which each task's preset sets."""

    halting: str = "none"
    #: τ, the weight of the ponder cost (ACT).
    tau: float = 1e-3
    #: ε: ACT halts once Σh ≥ 1 − ε (0.01); PonderNet unrolls until Σp ≥ 1 − ε (paper: 0.05).
    epsilon: float = 0.01
    #: M, the most ponder steps per input step.
    max_steps: int = 100
    #: Initial bias b_h of the halting unit.
    halting_bias: float = 1.0
    #: PonderNet's KL weight β and geometric prior λ_p.
    beta: float = 0.01
    prior: float = 0.2

    def __post_init__(self) -> None:
        if self.halting not in ("none", *HALTING_SCHEMES):
            raise ValueError(
                f"act.halting must be 'none', 'act' or 'pondernet', got {self.halting!r}"
            )
        if self.halting != "none":
            check_halting_settings(
                self.halting, self.tau, self.epsilon, self.max_steps, self.beta, self.prior
            )
        elif not self.tau >= 0:
            raise ValueError(f"the ponder cost weight tau must be >= 0, got {self.tau}")


@dataclass
class OptimConfig:
    """Optimiser and gradient clipping. The defaults are the NTM paper's (§4.6): RMSProp in
    Graves's (2013) centred form with momentum 0.9, learning rate 1e-4, gradients clipped
    elementwise to (−10, 10)."""

    name: str = "rmsprop"
    lr: float = 1e-4
    momentum: float = 0.9
    #: RMSProp's decay of the squared-gradient average (Graves 2013: 0.95).
    rmsprop_decay: float = 0.95
    eps: float = 1e-4
    clip_value: float | None = 10.0
    clip_norm: float | None = None
    #: "constant", or "cosine": the learning rate falls along a half cosine from ``lr`` at step 0
    #: to ``lr * min_lr_ratio`` at ``train.steps``.
    schedule: str = "constant"
    min_lr_ratio: float = 0.05


@dataclass
class TrainConfig:
    """The training loop."""

    steps: int = 100_000
    batch_size: int = 1
    seed: int = 0
    #: Seed of the held-out evaluation set, kept apart from the training seed so every run of a
    #: preset is scored on the same sequences.
    eval_seed: int = 1_000_003
    #: Also score every evaluation on a validation set (``eval_sequences`` episodes drawn as
    #: the held-out set is, from ``validation_seed``) and keep the parameters with the best
    #: validation headline metric in best.pt, which `augrnn eval`, `ask` and `viz` then read;
    #: ``target`` is then judged on the validation set. Choosing a checkpoint never looks at
    #: the held-out episodes.
    select_best: bool = False
    validation_seed: int = 2_000_003
    #: Random restarts: train this many trials of ``restart_steps`` steps each from fresh
    #: initialisations (trial k from seed ``seed + 1000 k``, trial 0 from ``seed`` itself),
    #: score each at its end on the validation set, and continue the best one (needs
    #: ``select_best``). The trials' time counts towards ``max_minutes``; a trial that reaches
    #: ``target`` ends the search. 1: no restarts.
    restarts: int = 1
    restart_steps: int | None = None
    eval_every: int = 500
    eval_sequences: int = 1000
    eval_batch_size: int = 250
    log_every: int = 10
    #: Stop once the held-out headline metric falls below this (None: train for ``steps``).
    target: float | None = None
    #: Stop after this many minutes of training (None: no limit).
    max_minutes: float | None = None
    #: Curriculum: start at this maximum length and raise it by one each time the training cost
    #: per scored step falls below ``curriculum_threshold`` (None: no curriculum).
    curriculum_start: int | None = None
    curriculum_threshold: float = 0.02
    tensorboard: bool = True
    device: str = "cpu"
    #: CPU threads for torch (None: torch's default). Give each of several parallel runs 1 thread:
    #: oversubscribed cores slow small-tensor recurrent steps by orders of magnitude.
    threads: int | None = None
    #: Compile the model's step with torch.compile (needs a C++ compiler on the CPU); the first
    #: steps take longer while it compiles.
    compile: bool = False
    #: With ``compile``: also compile this many steps unrolled into one graph (fewer calls per
    #: sequence, much faster at small batches, but a longer compile); 1: single steps only.
    compile_chunk: int = 1
    #: With ``compile``: call the compiled kernels directly in training instead of through
    #: torch.compile's per-call wrappers (faster; see ``augrnn.compiled_step``).
    compile_direct: bool = True
    #: Gradient checkpointing: keep every K-th state for the backward pass and recompute the
    #: steps between (memory grows with T/K + K instead of T); None: keep everything.
    checkpoint_every: int | None = None
    #: "float32", or mixed precision under torch.autocast: "bfloat16", or "float16" (with loss
    #: scaling). Models keep what needs the range in float32 (the NTM's addressing and memory).
    precision: str = "float32"
    #: Skip a step whose gradients are NaN or infinite (the optimiser does not move; in long
    #: backpropagation through time a gradient can overflow float32 before any clipping), at
    #: most this many steps in a row before stopping; 0: stop at the first. The metrics log
    #: counts them as ``skipped_steps``.
    skip_nonfinite: int = 0

    def __post_init__(self) -> None:
        if not (isinstance(self.restarts, int) and self.restarts >= 1):
            raise ValueError(f"train.restarts must be a positive integer, got {self.restarts!r}")
        if self.restarts > 1:
            if not (isinstance(self.restart_steps, int) and 1 <= self.restart_steps < self.steps):
                raise ValueError(
                    "train.restarts > 1 needs train.restart_steps, the steps of each trial: a "
                    f"positive integer below train.steps ({self.steps}), got {self.restart_steps!r}"
                )
            if not self.select_best:
                raise ValueError(
                    "train.restarts > 1 needs train.select_best = true: the trials are compared "
                    "on the validation set"
                )
        if not (isinstance(self.skip_nonfinite, int) and self.skip_nonfinite >= 0):
            raise ValueError(
                f"train.skip_nonfinite must be a non-negative integer, got {self.skip_nonfinite!r}"
            )
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"train.precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
            )
        if not (isinstance(self.compile_chunk, int) and self.compile_chunk >= 1):
            raise ValueError(
                f"train.compile_chunk must be a positive integer, got {self.compile_chunk!r}"
            )
        if self.checkpoint_every is not None and not (
            isinstance(self.checkpoint_every, int) and self.checkpoint_every >= 1
        ):
            raise ValueError(
                "train.checkpoint_every must be a positive integer or absent, got "
                f"{self.checkpoint_every!r}"
            )


PRECISIONS = ("float32", "bfloat16", "float16")


@dataclass
class Config:
    task_name: str = "copy"
    task: TaskConfig = field(default_factory=lambda: TASKS["copy"].config_class())
    model: ModelConfig = field(default_factory=ModelConfig)
    act: ActConfig = field(default_factory=ActConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    preset: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "task": {"name": self.task_name, **dataclasses.asdict(self.task)},
            "model": dataclasses.asdict(self.model),
            "act": dataclasses.asdict(self.act),
            "optim": dataclasses.asdict(self.optim),
            "train": dataclasses.asdict(self.train),
        }


SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "act": ActConfig,
    "optim": OptimConfig,
    "train": TrainConfig,
}


def _section_class(section: str, task_name: str) -> type:
    if section == "task":
        return get_task_class(task_name).config_class
    return SECTIONS[section]


def valid_keys(task_name: str) -> list[str]:
    keys = ["task.name"]
    for section in ("task", *SECTIONS):
        cls = _section_class(section, task_name)
        keys += [f"{section}.{f.name}" for f in dataclasses.fields(cls)]
    return keys


def _unknown_key(key: str, task_name: str) -> ConfigError:
    return ConfigError(
        f"unknown config key {key!r}; valid keys are:\n  " + "\n  ".join(valid_keys(task_name))
    )


def _allowed(tp: Any) -> tuple[type, ...]:
    """The concrete types a field annotation admits (``float | None`` -> (float, NoneType))."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        return tuple(t for arg in typing.get_args(tp) for t in _allowed(arg))
    return (tp,)


def _type_error(key: str, value: Any, allowed: tuple[type, ...]) -> ConfigError:
    names = " or ".join("none" if t is type(None) else t.__name__ for t in allowed)
    return ConfigError(f"config key {key!r} expects {names}, got {value!r}")


def _check_value(key: str, value: Any, tp: Any) -> Any:
    allowed = _allowed(tp)
    # TOML has no null, so presets write "none" for an unset optional value.
    if type(None) in allowed and (value is None or str(value).lower() == "none"):
        return None
    for t in allowed:
        if t is bool and isinstance(value, bool):
            return value
        if t is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if t is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if t is str and isinstance(value, str):
            return value
    raise _type_error(key, value, allowed)


def parse_value(key: str, text: str, tp: Any) -> Any:
    """Turn the text of a ``--key=value`` override into a value of the field's type."""
    allowed = _allowed(tp)
    lowered = text.strip().lower()
    if type(None) in allowed and lowered in ("none", "null"):
        return None
    for t in allowed:
        try:
            if t is bool:
                if lowered in ("true", "1", "yes"):
                    return True
                if lowered in ("false", "0", "no"):
                    return False
            elif t is int:
                return int(text)
            elif t is float:
                return float(text)
            elif t is str:
                return text
        except ValueError:
            continue
    raise _type_error(key, text, allowed)


def _build_section(cls: type, values: dict[str, Any], section: str, task_name: str) -> Any:
    hints = typing.get_type_hints(cls)
    checked = {}
    for key, value in values.items():
        if key not in hints:
            raise _unknown_key(f"{section}.{key}", task_name)
        checked[key] = _check_value(f"{section}.{key}", value, hints[key])
    try:
        return cls(**checked)
    except ValueError as err:
        raise ConfigError(f"[{section}]: {err}") from err


def config_from_dict(raw: dict[str, Any]) -> Config:
    """Build a checked :class:`Config` from a nested dict (a parsed preset or a saved config)."""
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    preset = raw.pop("preset", "")
    task_values = raw.pop("task", {})
    task_name = task_values.pop("name", "copy")
    if task_name not in TASKS:
        raise ConfigError(f"unknown task {task_name!r}; known tasks: {', '.join(sorted(TASKS))}")
    sections = {}
    for section, values in raw.items():
        if section not in SECTIONS:
            raise ConfigError(
                f"unknown config section [{section}]; sections are [task], "
                + ", ".join(f"[{s}]" for s in SECTIONS)
            )
        if not isinstance(values, dict):
            raise ConfigError(f"[{section}] must be a table of settings, got {values!r}")
        sections[section] = _build_section(SECTIONS[section], values, section, task_name)
    task_config = _build_section(
        get_task_class(task_name).config_class, task_values, "task", task_name
    )
    # Tasks validate their settings when built; do it now so a bad preset fails before training.
    try:
        get_task_class(task_name)(task_config)
    except ValueError as err:
        raise ConfigError(f"[task]: {err}") from err
    return Config(task_name=task_name, task=task_config, preset=preset, **sections)


def apply_overrides(raw: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
    """Return a copy of ``raw`` with ``{"section.key": "text"}`` overrides parsed and applied."""
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    raw.setdefault("task", {})
    if "task.name" in overrides:
        # A different task has different settings: start its section afresh.
        raw["task"] = {"name": overrides["task.name"]}
    task_name = raw["task"].get("name", "copy")
    if task_name not in TASKS:
        raise ConfigError(f"unknown task {task_name!r}; known tasks: {', '.join(sorted(TASKS))}")
    for key, text in overrides.items():
        if key == "task.name":
            continue
        section, _, name = key.partition(".")
        if section not in ("task", *SECTIONS) or not name:
            raise _unknown_key(key, task_name)
        hints = typing.get_type_hints(_section_class(section, task_name))
        if name not in hints:
            raise _unknown_key(key, task_name)
        raw.setdefault(section, {})[name] = parse_value(key, text, hints[name])
    return raw


def parse_override_args(args: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["--train.steps=10", ...]`` -> ``{"train.steps": "10"}``."""
    overrides = {}
    for arg in args:
        if not arg.startswith("--") or "=" not in arg:
            raise ConfigError(f"overrides look like --section.key=value, got {arg!r}")
        key, _, value = arg[2:].partition("=")
        overrides[key] = value
    return overrides


def presets_dir() -> Path:
    return Path(str(resources.files("augrnn") / "configs"))


def preset_names() -> list[str]:
    return sorted(p.stem for p in presets_dir().glob("*.toml"))


def load_preset(name_or_path: str, overrides: dict[str, str] | None = None) -> Config:
    """Load a preset by name (``copy``) or a TOML file by path, then apply overrides."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = presets_dir() / f"{name_or_path}.toml"
        if not path.is_file():
            raise ConfigError(
                f"unknown preset {name_or_path!r}; presets are: {', '.join(preset_names())} "
                "(or give the path of a .toml file)"
            )
    elif not path.is_file():
        raise ConfigError(f"no preset file at {path}")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML: {err}") from err
    raw.setdefault("preset", path.stem)
    return config_from_dict(apply_overrides(raw, overrides or {}))
