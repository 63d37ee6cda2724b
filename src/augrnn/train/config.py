"""Run configuration: dataclasses, TOML presets and dotted ``--key=value`` overrides.

A preset is a TOML file with the sections ``[task]`` (``name`` plus that task's settings),
``[model]`` (``kind`` plus that model kind's settings, see :mod:`augrnn.registry`), ``[optim]``
and ``[train]``. Anything a preset leaves out takes the dataclass default. A model that wraps a
core nests the core's table, with a kind of its own::

    [model]
    kind = "act"
    tau = 1e-3

    [model.core]
    kind = "rnn"
    hidden_size = 128

Overrides address fields by section and name, nested ones by their path:
``--train.batch_size=32 --task.max_length=30 --model.core.hidden_size=64``. Setting
``--task.name`` or ``--model.kind`` starts that section afresh, except that a wrapper kind chosen
over a core kind wraps the model it replaces (``augrnn train parity_rnn --model.kind=act``
ponders around the preset's RNN). TOML has no null: an optional setting is switched off with
the string ``"none"``. An unknown key or a value of the wrong type is an error that lists the
valid keys (the model kind's own, for a ``model.`` key).

Configs saved before models had settings of their own (one flat ``[model]`` of every model's
settings, and an ``[act]`` section) are read as today's: :func:`upgrade_legacy`.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import sys
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from augrnn.interface import ModelConfig, ModelKind, is_core_field
from augrnn.registry import (
    DEFAULT_MODEL_KIND,
    RegistryError,
    core_kinds,
    describe_model,
    kind_name,
    model_kind,
    task_class,
)
from augrnn.settings import SEED, Range, above, at_least, between, check_settings
from augrnn.tasks.base import Task, TaskConfig

DEFAULT_TASK = "copy"


class ConfigError(ValueError):
    """A preset or an override that does not fit the configuration."""


@dataclass
class OptimConfig:
    """Optimiser and gradient clipping. The defaults are the NTM paper's (§4.6): RMSProp in
    Graves's (2013) centred form with momentum 0.9, learning rate 1e-4, gradients clipped
    elementwise to (−10, 10). ``name`` is "rmsprop", "adam" or "sgd" (plain SGD with
    ``momentum``)."""

    name: str = "rmsprop"
    lr: float = 1e-4
    momentum: float = 0.9
    #: RMSProp's decay of the squared-gradient average (Graves 2013: 0.95).
    rmsprop_decay: float = 0.95
    eps: float = 1e-4
    clip_value: float | None = 10.0
    clip_norm: float | None = None
    #: "constant"; "cosine": the learning rate falls along a half cosine from ``lr`` at step 0
    #: to ``lr * min_lr_ratio`` at ``train.steps``; "step": it is multiplied by ``decay_factor``
    #: every ``decay_every`` steps (MemN2N's halving every 25 epochs).
    schedule: str = "constant"
    min_lr_ratio: float = 0.05
    decay_every: int = 1000
    decay_factor: float = 0.5

    RANGES: ClassVar[dict[str, Range]] = {
        "lr": above(0),
        "momentum": between(0, 1, high_inclusive=False),
        "rmsprop_decay": between(0, 1),
        "eps": above(0),
        "clip_value": above(0),
        "clip_norm": above(0),
        "min_lr_ratio": between(0, 1),
        "decay_every": at_least(1),
        "decay_factor": between(0, 1, low_inclusive=False),
    }

    def __post_init__(self) -> None:
        check_settings(self)
        if self.name not in OPTIMISERS:
            raise ValueError(
                f"optim.name must be one of {', '.join(OPTIMISERS)}, got {self.name!r}"
            )
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"optim.schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}"
            )


OPTIMISERS = ("rmsprop", "adam", "sgd")
SCHEDULES = ("constant", "cosine", "step")
#: The device types a run can train on ("cuda:1" names one GPU of several).
DEVICE_TYPES = ("cpu", "cuda", "mps")


def check_device(name: str) -> None:
    """Raise ``ValueError`` unless ``name`` is a device a run can be given ("cpu", "cuda",
    "cuda:1", "mps"); whether that device is present is checked when training starts."""
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        device = None
    if device is None or device.type not in DEVICE_TYPES:
        raise ValueError(
            f"train.device must be one of {', '.join(DEVICE_TYPES)}, optionally with an index "
            f"(cuda:1), got {name!r}"
        )


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
    #: How a batch's length is drawn under the curriculum, given its current level D:
    #: "limit", uniform over [shortest, D]; "mixed", the NRAM paper's (its App. B): with
    #: probability 0.1 uniform over the whole training range, 0.25 uniform over
    #: [shortest, D + e], 0.65 exactly D + e, with e ~ Geometric(1/2) on 0, 1, 2, ... (capped
    #: at the longest). Either draws one length per batch.
    curriculum: str = "limit"
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

    RANGES: ClassVar[dict[str, Range]] = {
        "steps": at_least(1),
        "batch_size": at_least(1),
        "seed": SEED,
        "eval_seed": SEED,
        "validation_seed": SEED,
        "restarts": at_least(1),
        "restart_steps": at_least(1),
        "eval_every": at_least(1),
        "eval_sequences": at_least(1),
        "eval_batch_size": at_least(1),
        "log_every": at_least(1),
        "target": above(0),
        "max_minutes": above(0),
        "curriculum_start": at_least(1),
        "curriculum_threshold": at_least(0),
        "threads": at_least(1),
        "compile_chunk": at_least(1),
        "checkpoint_every": at_least(1),
        "skip_nonfinite": at_least(0),
    }

    def __post_init__(self) -> None:
        check_settings(self)
        if self.restarts > 1:
            if self.restart_steps is None or self.restart_steps >= self.steps:
                raise ValueError(
                    "train.restarts > 1 needs train.restart_steps, the steps of each trial: a "
                    f"positive integer below train.steps ({self.steps}), got {self.restart_steps!r}"
                )
            if not self.select_best:
                raise ValueError(
                    "train.restarts > 1 needs train.select_best = true: the trials are compared "
                    "on the validation set"
                )
        if self.curriculum not in CURRICULA:
            raise ValueError(
                f"train.curriculum must be one of {', '.join(CURRICULA)}, got {self.curriculum!r}"
            )
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"train.precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
            )
        check_device(self.device)


PRECISIONS = ("float32", "bfloat16", "float16")
CURRICULA = ("limit", "mixed")


@dataclass
class Config:
    """A run: the task (its registered name and settings), the model (any kind's config), the
    optimiser and the training loop."""

    task_name: str = DEFAULT_TASK
    task: TaskConfig = field(default_factory=lambda: task_class(DEFAULT_TASK).config_class())
    model: ModelConfig = field(
        default_factory=lambda: model_kind(DEFAULT_MODEL_KIND).config_class()
    )
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    preset: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "task": {"name": self.task_name, **dataclasses.asdict(self.task)},
            "model": model_to_dict(self.model),
            "optim": dataclasses.asdict(self.optim),
            "train": dataclasses.asdict(self.train),
        }

    def identity(self) -> str:
        """A hash of what a run is, which resuming it cannot change: its preset, its task and
        its model kind (with any nested core's kind), 16 hex digits. Checkpoints record it, so
        that one copied into another run's folder is refused instead of trained on."""
        values = self.to_dict()
        what = {"preset": self.preset, "task": self.task_name, "model": _kinds(values["model"])}
        return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]

    def title(self) -> str:
        """A short name of the run: its preset (if any), model and task."""
        preset = f"{self.preset}: " if self.preset else ""
        return f"{preset}{describe_model(self.model)} on {self.task_name}"


SECTIONS: dict[str, type] = {"optim": OptimConfig, "train": TrainConfig}


def _kinds(model: dict[str, Any]) -> dict[str, Any]:
    """The model table ``model`` reduced to its kind and its nested cores' kinds."""
    kinds: dict[str, Any] = {"kind": model.get("kind")}
    for key, value in model.items():
        if isinstance(value, dict) and "kind" in value:
            kinds[key] = _kinds(value)
    return kinds


def model_to_dict(config: ModelConfig) -> dict[str, Any]:
    """``config`` as a table: its kind's name and its fields, a nested core as a table too."""
    values: dict[str, Any] = {"kind": kind_name(config)}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        nested = is_core_field(f) and value is not None
        values[f.name] = model_to_dict(value) if nested else copy.deepcopy(value)
    return values


def _model_kind(name: Any, where: str) -> ModelKind:
    if not isinstance(name, str):
        raise ConfigError(f"{where}.kind must be a string, got {name!r}")
    try:
        return model_kind(name)
    except RegistryError as err:
        raise ConfigError(f"[{where}]: {err}") from err


def _task_class(name: Any) -> type[Task]:
    if not isinstance(name, str):
        raise ConfigError(f"task.name must be a string, got {name!r}")
    try:
        return task_class(name)
    except RegistryError as err:
        raise ConfigError(str(err)) from err


def model_keys(values: dict[str, Any], where: str = "model") -> list[str]:
    """The keys of the model table ``values`` (by its kind), nested cores' keys included."""
    name = values.get("kind", DEFAULT_MODEL_KIND)
    try:
        config_class = model_kind(name).config_class
    except RegistryError:
        return [f"{where}.kind"]
    keys = [f"{where}.kind"]
    for f in dataclasses.fields(config_class):
        nested = values.get(f.name)
        if is_core_field(f):
            keys += model_keys(nested if isinstance(nested, dict) else {}, f"{where}.{f.name}")
        else:
            keys.append(f"{where}.{f.name}")
    return keys


#: Model settings renamed when each model kind got settings of its own (old name -> new).
LEGACY_RENAMES = {
    "programmer": {"program_steps": "steps", "bidirectional_question": "bidirectional"},
    "show_attend_tell": {"cnn_channels": "channels", "attention_gate": "gate"},
}


def _unknown_model_key(key: str, values: dict[str, Any], where: str) -> ConfigError:
    name = values.get("kind", DEFAULT_MODEL_KIND)
    last = key.rsplit(".", 1)[-1]
    renamed = LEGACY_RENAMES.get(name, {}).get(last)
    hint = f" ({where}.{last} is now {where}.{renamed})" if renamed else ""
    return ConfigError(
        f"unknown config key {key!r}{hint}; model kind {name!r} has the keys:\n  "
        + "\n  ".join(model_keys(values, where))
    )


def _model_from_dict(values: Any, where: str, core_only: bool) -> ModelConfig:
    """The checked config of the model table ``values`` at ``where`` (``core_only``: a nested
    core, which must be a kind that builds one)."""
    if not isinstance(values, dict):
        raise ConfigError(f"[{where}] must be a table of settings with a kind, got {values!r}")
    values = dict(values)
    name = values.get("kind", DEFAULT_MODEL_KIND)
    kind = _model_kind(name, where)
    if core_only and not kind.is_core:
        raise ConfigError(
            f"[{where}]: model kind {name!r} is not a recurrent core, so it cannot be nested "
            f"here; the cores are: {core_kinds()}"
        )
    config_class = kind.config_class
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    hints = typing.get_type_hints(config_class)
    checked = {}
    for key, value in values.items():
        if key == "kind":
            continue
        if key not in fields:
            raise _unknown_model_key(f"{where}.{key}", values, where)
        if is_core_field(fields[key]):
            # None: an optional core left out (the config class refuses it where it is needed).
            nested = None if value is None else _model_from_dict(value, f"{where}.{key}", True)
            checked[key] = nested
        else:
            checked[key] = _check_value(f"{where}.{key}", value, hints[key])
    try:
        return config_class(**checked)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"[{where}] ({name}): {err}") from err


def upgrade_legacy(raw: dict[str, Any]) -> dict[str, Any]:
    """A config dict from before each model kind had settings of its own, in today's form:
    the flat ``[model]`` (every model's settings, those of other kinds ignored) keeps its kind's
    settings, renamed (:data:`LEGACY_RENAMES`), and an ``[act]`` section whose ``halting`` is
    not "none" becomes ``[model] kind = "act"`` around it. Other dicts are returned unchanged.
    Every config saved before then has an ``[act]`` section."""
    if "act" not in raw:
        return raw
    raw = dict(raw)
    act = dict(raw.pop("act") or {})
    old = dict(raw.get("model") or {})
    name = old.pop("kind", DEFAULT_MODEL_KIND)
    renames = LEGACY_RENAMES.get(name, {})
    values = {renames.get(key, key): value for key, value in old.items()}
    if name == "show_attend_tell" and values.get("attention") == "bahdanau":
        values["attention"] = "soft"  # the same additive attention, under its old name
    fields = {f.name for f in dataclasses.fields(_model_kind(name, "model").config_class)}
    model = {"kind": name, **{key: value for key, value in values.items() if key in fields}}
    halting = act.pop("halting", "none")
    if halting != "none":
        model = {"kind": "act", "halting": halting, **act, "core": model}
    raw["model"] = model
    return raw


def _unknown_key(key: str, task_name: str, model: dict[str, Any]) -> ConfigError:
    return ConfigError(
        f"unknown config key {key!r}; valid keys are:\n  "
        + "\n  ".join(valid_keys(task_name, model))
    )


def valid_keys(task_name: str, model: dict[str, Any] | None = None) -> list[str]:
    """Every key of a run on ``task_name`` with the model table ``model``."""
    keys = ["task.name"]
    keys += [f"task.{f.name}" for f in dataclasses.fields(_task_class(task_name).config_class)]
    keys += model_keys(model or {})
    for section, cls in SECTIONS.items():
        keys += [f"{section}.{f.name}" for f in dataclasses.fields(cls)]
    return keys


ACT_MOVED = (
    "the [act] settings are now those of the model kind 'act', which wraps the model as its "
    "core: --model.kind=act, then --model.halting, --model.tau, ... (and the preset's model "
    "settings as --model.core.*)"
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


def _build_section(
    cls: type, values: dict[str, Any], section: str, unknown: typing.Callable[[str], ConfigError]
) -> Any:
    hints = typing.get_type_hints(cls)
    checked = {}
    for key, value in values.items():
        if key not in hints:
            raise unknown(f"{section}.{key}")
        checked[key] = _check_value(f"{section}.{key}", value, hints[key])
    try:
        return cls(**checked)
    except ValueError as err:
        raise ConfigError(f"[{section}]: {err}") from err


def _copied(raw: dict[str, Any]) -> dict[str, Any]:
    return upgrade_legacy(copy.deepcopy(raw))


def config_from_dict(raw: dict[str, Any]) -> Config:
    """Build a checked :class:`Config` from a nested dict (a parsed preset or a saved config,
    today's or a legacy one: :func:`upgrade_legacy`)."""
    raw = _copied(raw)
    preset = raw.pop("preset", "")
    task_values = raw.pop("task", {})
    if not isinstance(task_values, dict):
        raise ConfigError(f"[task] must be a table of settings, got {task_values!r}")
    task_name = task_values.pop("name", DEFAULT_TASK)
    task_cls = _task_class(task_name)
    model_values = raw.pop("model", {})
    model = _model_from_dict(model_values, "model", core_only=False)

    def unknown(key: str) -> ConfigError:
        return _unknown_key(key, task_name, model_values)

    sections = {}
    for section, values in raw.items():
        if section not in SECTIONS:
            raise ConfigError(
                f"unknown config section [{section}]; sections are [task], [model], "
                + ", ".join(f"[{s}]" for s in SECTIONS)
            )
        if not isinstance(values, dict):
            raise ConfigError(f"[{section}] must be a table of settings, got {values!r}")
        sections[section] = _build_section(SECTIONS[section], values, section, unknown)
    task_config = _build_section(task_cls.config_class, task_values, "task", unknown)
    # Tasks validate their settings when built; do it now so a bad preset fails before training.
    try:
        task_cls(task_config)
    except ValueError as err:
        raise ConfigError(f"[task]: {err}") from err
    return Config(task_name=task_name, task=task_config, model=model, preset=preset, **sections)


def _override_model(values: dict[str, Any], path: list[str], text: str, where: str) -> None:
    """Apply the override ``--<where>.<path>=text`` to the model table ``values`` in place."""
    name = values.get("kind", DEFAULT_MODEL_KIND)
    head, rest = path[0], path[1:]
    key = f"{where}.{head}"
    if head == "kind" and not rest:
        new = text.strip()
        kind = _model_kind(new, where)
        if new != name:
            old = {"kind": name, **values}
            values.clear()
            values["kind"] = new
            # A wrapper (ACT) takes the core it replaces as its [core]; a kind whose cores are
            # optional parts (seq2seq's encoder_core) starts without them.
            wraps = [f.name for f in dataclasses.fields(kind.config_class) if is_core_field(f)]
            if "core" in wraps and _model_kind(name, where).is_core:
                values["core"] = old
        return
    config_class = _model_kind(name, where).config_class
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    if head not in fields:
        raise _unknown_model_key(f"{where}.{'.'.join(path)}", values, where)
    if is_core_field(fields[head]):
        if not rest:
            raise ConfigError(f"{key} is a table: set its keys, e.g. --{key}.kind=lstm")
        nested = values.get(head)
        if not isinstance(nested, dict):
            nested = values[head] = {}
        _override_model(nested, rest, text, key)
    elif rest:
        raise _unknown_model_key(f"{where}.{'.'.join(path)}", values, where)
    else:
        values[head] = parse_value(key, text, typing.get_type_hints(config_class)[head])


def _switches_first(item: tuple[str, str]) -> tuple[bool, int]:
    """Sort key: ``task.name`` and the model kinds (shallowest first) before other overrides,
    since they decide which keys exist."""
    key = item[0]
    switch = key == "task.name" or (key.startswith("model.") and key.endswith(".kind"))
    return (not switch, key.count(".") if switch else 0)


def apply_overrides(raw: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
    """Return a copy of ``raw`` with ``{"section.key": "text"}`` overrides parsed and applied."""
    raw = _copied(raw)
    raw.setdefault("task", {})
    if not isinstance(raw.setdefault("model", {}), dict):
        raise ConfigError(f"[model] must be a table of settings, got {raw['model']!r}")
    for key, text in sorted(overrides.items(), key=_switches_first):
        section, _, name = key.partition(".")
        if key == "task.name":
            # A different task has different settings: start its section afresh.
            _task_class(text)
            raw["task"] = {"name": text}
        elif section == "model" and name:
            _override_model(raw["model"], name.split("."), text, "model")
        elif section == "act":
            raise ConfigError(f"unknown config key {key!r}: {ACT_MOVED}")
        elif section in ("task", *SECTIONS) and name:
            task_name = raw["task"].get("name", DEFAULT_TASK)
            cls = _task_class(task_name).config_class if section == "task" else SECTIONS[section]
            hints = typing.get_type_hints(cls)
            if name not in hints:
                raise _unknown_key(key, task_name, raw["model"])
            raw.setdefault(section, {})[name] = parse_value(key, text, hints[name])
        else:
            raise _unknown_key(key, raw["task"].get("name", DEFAULT_TASK), raw["model"])
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
