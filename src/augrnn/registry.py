"""The registries: model kinds and tasks by name, from augrnn itself, installed plugins or a path.

A name is looked up, in this order, among

1. augrnn's own: the model kinds in the ``MODEL_KINDS`` dicts of the modules listed in
   :data:`BUILTIN_MODEL_MODULES`, and the tasks in :data:`augrnn.tasks.TASKS`;
2. installed plugins: the entry points of the groups ``augrnn.models`` and ``augrnn.tasks``
   (``augrnn.views`` for viz views, see :mod:`augrnn.viz.views`), whose names are the kinds'
   and tasks' names, as pytest finds its plugins::

       [project.entry-points."augrnn.models"]
       toy = "my_package.models:ToyCore"

3. a reference ``"package.module:Name"`` written where a name goes (``[model] kind =
   "my_package.models:ToyCore"``), imported when first used.

A model entry is a :class:`~augrnn.interface.ModelKind`, or a class with a ``Config``
dataclass (a :class:`~augrnn.interface.ModelConfig`) and a ``from_config(config,
input_size, output_size)`` classmethod: a :class:`~augrnn.core.Core` subclass (a recurrent core,
run over sequences by :class:`~augrnn.sequence.RecurrentModel` and usable inside ACT) or a
:class:`~augrnn.interface.Model` subclass. A task entry is a :class:`~augrnn.tasks.base.Task`
subclass.

A plugin that fails to load is left out with a :class:`PluginWarning` that names it and its
error; everything else keeps working, and asking for it by name repeats its error.
"""

from __future__ import annotations

import dataclasses
import importlib
import warnings
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from augrnn.core import Core
from augrnn.interface import Model, ModelConfig, ModelKind
from augrnn.sequence import RecurrentModel
from augrnn.tasks.base import Task

#: The modules of augrnn's own model kinds, each with a ``MODEL_KINDS`` dict (name -> ModelKind).
BUILTIN_MODEL_MODULES = (
    "augrnn.controllers",
    "augrnn.memory.ntm",
    "augrnn.memory.dnc",
    "augrnn.memory.stack",
    "augrnn.act",
    "augrnn.attention.seq2seq",
    "augrnn.attention.show_attend_tell",
    "augrnn.programmer",
    "augrnn.memnet",
    "augrnn.neural_gpu",
    "augrnn.nram",
    "augrnn.rl_ntm",
    "augrnn.speech",
)
#: The model kind of a ``[model]`` table that names none.
DEFAULT_MODEL_KIND = "ntm"

T = TypeVar("T")


class RegistryError(ValueError):
    """An unknown name, a plugin that failed to load, or an entry of the wrong kind."""


class PluginWarning(UserWarning):
    """A plugin that failed to load and was left out."""


def _error_text(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


def import_reference(reference: str, what: str) -> Any:
    """The object that ``"package.module:Name"`` (``Name`` may be dotted) refers to."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise RegistryError(f"{what} {reference!r}: a reference looks like 'package.module:Name'")
    try:
        obj = importlib.import_module(module_name)
    except Exception as err:
        raise RegistryError(
            f"{what} {reference!r}: cannot import {module_name!r}: {_error_text(err)}"
        ) from err
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise RegistryError(f"{what} {reference!r}: {module_name} has no {attribute}") from None
    return obj


_plugin_objects: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}


def plugin_objects(group: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The loaded entry points of ``group`` by name, and the errors of those that failed to load
    (each also warned once as a :class:`PluginWarning`). Cached until :func:`refresh`."""
    if group not in _plugin_objects:
        loaded, failed = {}, {}
        for point in entry_points(group=group):
            try:
                loaded[point.name] = point.load()
            except Exception as err:
                failed[point.name] = f"{point.value}: {_error_text(err)}"
                warnings.warn(
                    f"the plugin {point.name!r} of {group} failed to load and is left out "
                    f"({failed[point.name]})",
                    PluginWarning,
                    stacklevel=2,
                )
        _plugin_objects[group] = loaded, failed
    return _plugin_objects[group]


class Registry(Generic[T]):
    """Names to entries: the built-in ones, then the plugins of an entry-point group, then
    ``"package.module:Name"`` references on first use (see the module). ``adapt(name, obj)``
    turns what a plugin or a reference gives into an entry, or raises :class:`RegistryError`."""

    def __init__(
        self,
        what: str,
        group: str,
        builtin: Callable[[], dict[str, T]],
        adapt: Callable[[str, Any], T],
    ):
        self.what = what
        self.group = group
        self._builtin = builtin
        self._adapt = adapt
        self._items: dict[str, T] | None = None
        self._failures: dict[str, str] = {}

    def _loaded(self) -> dict[str, T]:
        if self._items is None:
            items = dict(self._builtin())
            loaded, self._failures = plugin_objects(self.group)
            self._failures = dict(self._failures)
            for name, obj in loaded.items():
                if name in items:
                    self._failures[name] = f"its name is a built-in {self.what}'s"
                    warnings.warn(
                        f"the plugin {name!r} of {self.group} is left out: {name!r} is a "
                        f"built-in {self.what}",
                        PluginWarning,
                        stacklevel=3,
                    )
                    continue
                try:
                    items[name] = self._adapt(name, obj)
                except RegistryError as err:
                    self._failures[name] = str(err)
                    warnings.warn(
                        f"the plugin {name!r} of {self.group} is left out: {err}",
                        PluginWarning,
                        stacklevel=3,
                    )
            self._items = items
        return self._items

    def get(self, name: str) -> T:
        """The entry called ``name``; a :class:`RegistryError` lists the known names."""
        items = self._loaded()
        if name in items:
            return items[name]
        if name in self._failures:
            raise RegistryError(
                f"the {self.what} {name!r} is a plugin that failed to load: {self._failures[name]}"
            )
        if ":" in name:
            items[name] = self._adapt(name, import_reference(name, self.what))
            return items[name]
        failed = (
            f"; plugins that failed to load: {', '.join(sorted(self._failures))}"
            if self._failures
            else ""
        )
        raise RegistryError(
            f"unknown {self.what} {name!r}; known {self.what}s: {', '.join(self.names())}"
            f"{failed} (or 'package.module:Name')"
        )

    def register(self, name: str, entry: Any) -> T:
        """Add ``entry`` (anything a plugin may give) as ``name``, e.g. from a running program."""
        item = self._adapt(name, entry)
        self._loaded()[name] = item
        return item

    def names(self) -> list[str]:
        return sorted(self._loaded())

    def items(self) -> list[tuple[str, T]]:
        return list(self._loaded().items())

    @property
    def failures(self) -> dict[str, str]:
        """The plugins left out, by name, with their errors."""
        self._loaded()
        return dict(self._failures)

    def refresh(self) -> None:
        """Forget what was loaded, so that the next look-up finds newly installed plugins."""
        self._items = None


def _builtin_model_kinds() -> dict[str, ModelKind]:
    kinds: dict[str, ModelKind] = {}
    for module in BUILTIN_MODEL_MODULES:
        kinds.update(importlib.import_module(module).MODEL_KINDS)
    return kinds


def _as_model_kind(name: str, obj: Any) -> ModelKind:
    if isinstance(obj, ModelKind):
        kind = obj
    elif isinstance(obj, type) and issubclass(obj, Core | Model) and hasattr(obj, "from_config"):
        config_class = getattr(obj, "Config", None)
        description = (obj.__doc__ or "").strip().split("\n")[0]
        if issubclass(obj, Core):
            kind = ModelKind(config_class, build_core=obj.from_config, description=description)
        else:
            kind = ModelKind(config_class, build_model=obj.from_config, description=description)
    else:
        raise RegistryError(
            f"model kind {name!r} is {obj!r}; expected an augrnn.interface.ModelKind, or a Core "
            "or Model subclass with a Config dataclass and a from_config classmethod"
        )
    config_class = kind.config_class
    if not (
        isinstance(config_class, type)
        and issubclass(config_class, ModelConfig)
        and dataclasses.is_dataclass(config_class)
    ):
        raise RegistryError(
            f"model kind {name!r}: its config must be a dataclass subclassing "
            f"augrnn.interface.ModelConfig, got {config_class!r}"
        )
    return kind


def _builtin_tasks() -> dict[str, type[Task]]:
    return dict(importlib.import_module("augrnn.tasks").TASKS)


def _as_task(name: str, obj: Any) -> type[Task]:
    if not (isinstance(obj, type) and issubclass(obj, Task)):
        raise RegistryError(f"task {name!r} is {obj!r}; expected a subclass of augrnn.tasks.Task")
    return obj


#: Model kinds by name.
models: Registry[ModelKind] = Registry(
    "model kind", "augrnn.models", _builtin_model_kinds, _as_model_kind
)
#: Task classes by name.
tasks: Registry[type[Task]] = Registry("task", "augrnn.tasks", _builtin_tasks, _as_task)


def refresh() -> None:
    """Forget every loaded plugin, so that plugins installed since are found."""
    _plugin_objects.clear()
    models.refresh()
    tasks.refresh()


def model_kind(name: str) -> ModelKind:
    return models.get(name)


def task_class(name: str) -> type[Task]:
    return tasks.get(name)


def kind_name(config: ModelConfig) -> str:
    """The name that ``config``'s kind is registered under (the first, if several)."""
    for name, kind in models.items():
        if type(config) is kind.config_class:
            return name
    raise RegistryError(
        f"{type(config).__name__} is the config of no registered model kind; register its kind "
        "(augrnn.registry.models.register) or name it as 'package.module:Name'"
    )


def describe_model(config: ModelConfig) -> str:
    """A short description of the model ``config`` builds, e.g. ``"rnn + act"``."""
    return config.summary(kind_name(config))


def build_model(config: ModelConfig, input_size: int, output_size: int) -> Model:
    """The model of ``config`` for a task of these sizes: a kind that is a recurrent core is
    run over sequences by a :class:`~augrnn.sequence.RecurrentModel`."""
    kind = model_kind(kind_name(config))
    if kind.build_core is not None:
        return RecurrentModel(kind.build_core(config, input_size, output_size))
    return kind.build_model(config, input_size, output_size)


def build_core(config: ModelConfig, input_size: int, output_size: int | None) -> Core:
    """The recurrent core of ``config`` (``output_size`` None: its own features, for a wrapper's
    read-out); a kind that is not a core is an error."""
    name = kind_name(config)
    kind = model_kind(name)
    if kind.build_core is None:
        raise RegistryError(f"model kind {name!r} is not a recurrent core; cores: {core_kinds()}")
    return kind.build_core(config, input_size, output_size)


def core_kinds() -> str:
    """The registered kinds that are recurrent cores, comma-separated."""
    return ", ".join(name for name, kind in sorted(models.items()) if kind.is_core)
