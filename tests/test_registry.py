"""The registries: built-in kinds, building models from configs, and plugins from outside augrnn
(an installed distribution's entry points, or a 'package.module:Name' reference) run end to end
through train, resume, eval and viz without a file of augrnn touched."""

import json
import sys
import textwrap
from dataclasses import dataclass

import pytest
import torch
from click.testing import CliRunner

from augrnn import registry
from augrnn.act import ACT, ACTConfig
from augrnn.cli import load_kind_commands, main
from augrnn.controllers import (
    GRUConfig,
    GRUController,
    LSTMConfig,
    LSTMController,
    Readout,
    RNNConfig,
    RNNController,
)
from augrnn.core import collecting_step_terms
from augrnn.interface import Model, ModelConfig
from augrnn.memory.ntm import NTMCell, NTMConfig
from augrnn.registry import (
    PluginWarning,
    RegistryError,
    build_core,
    build_model,
    describe_model,
    kind_name,
    model_kind,
    task_class,
)
from augrnn.sequence import RecurrentModel
from augrnn.train.config import ConfigError, config_from_dict, load_preset
from augrnn.viz.views import VIEWS

SMALL_NTM = NTMConfig(controller_size=8, memory_slots=6, memory_width=4)


def test_the_built_in_kinds_and_what_each_builds():
    cores = {"act", "gru", "lstm", "ntm", "rnn"}
    models = {"programmer", "seq2seq", "show_attend_tell", "table_lstm"}
    assert set(registry.models.names()) >= cores | models
    assert {name for name in cores | models if model_kind(name).is_core} == cores
    assert kind_name(SMALL_NTM) == "ntm" and kind_name(RNNConfig()) == "rnn"
    assert describe_model(ACTConfig(core=RNNConfig())) == "rnn + act"


@pytest.mark.parametrize(
    ("config", "stack"),
    [
        (LSTMConfig(hidden_size=8, num_layers=2), LSTMController),
        (GRUConfig(hidden_size=8, num_layers=1), GRUController),
        (RNNConfig(hidden_size=8, num_layers=1), RNNController),
    ],
)
def test_recurrent_stacks_get_a_readout(config, stack):
    model = build_model(config, 5, 3)
    assert isinstance(model, RecurrentModel) and isinstance(model, Model)
    assert isinstance(model.core, Readout) and isinstance(model.core.core, stack)
    y, _ = model(torch.randn(4, 2, 5))
    assert y.shape == (4, 2, 3)
    assert isinstance(build_core(config, 5, None), stack)  # a wrapper reads the stack itself


def test_ntm_without_pondering():
    model = build_model(SMALL_NTM, 5, 3)
    assert isinstance(model.core, NTMCell) and model.core.memory_slots == 6
    y, _ = model(torch.randn(4, 2, 5))
    assert y.shape == (4, 2, 3)
    assert build_core(SMALL_NTM, 5, None).output_size == 8  # its controller's features


@pytest.mark.parametrize("halting", ["act", "pondernet"])
@pytest.mark.parametrize("core", [SMALL_NTM, RNNConfig(hidden_size=8, num_layers=1)])
def test_act_wraps_any_core_with_the_flag_input(core, halting):
    model = build_model(ACTConfig(core=core, halting=halting, tau=0.01, max_steps=5), 5, 3)
    assert isinstance(model.core, ACT) and model.core.halting == halting
    assert model.core.core.input_size == 6 and model.core.max_steps == 5
    with collecting_step_terms() as terms:
        y, _ = model(torch.randn(4, 2, 5))
    assert y.shape == (4, 2, 3)
    assert terms.stacked("ponder_steps").shape == (4, 2)


def test_unknown_kinds_and_configs_are_clear_errors():
    with pytest.raises(RegistryError, match="unknown model kind 'dnk'; known model kinds: act"):
        model_kind("dnk")
    with pytest.raises(RegistryError, match="unknown task 'sorting'; known tasks: .*copy"):
        task_class("sorting")

    @dataclass
    class Unregistered(ModelConfig):
        width: int = 1

    with pytest.raises(RegistryError, match="Unregistered is the config of no registered"):
        build_model(Unregistered(), 2, 2)
    with pytest.raises(RegistryError, match="'seq2seq' is not a recurrent core"):
        build_core(load_preset("dates").model, 2, 2)
    with pytest.raises(
        RegistryError, match="cannot import 'no_such_package.models': ModuleNotFoundError"
    ):
        model_kind("no_such_package.models:Core")
    with pytest.raises(RegistryError, match="expected an augrnn.interface.ModelKind"):
        registry.models.register("odd", object())


# --- plugins ------------------------------------------------------------------------------------

#: A recurrent core, a task, a view and a command from outside augrnn.
TOY_PLUGIN = '''
"""A toy plugin: an Elman core that traces its state, an echo task, a view and a command."""

from dataclasses import dataclass

import click
import torch
from torch import nn

from augrnn.core import Core, emit
from augrnn.interface import ModelConfig
from augrnn.tasks.base import Batch, Task, TaskConfig, episode_sizes, random_bits, render_bits


@dataclass
class ElmanConfig(ModelConfig):
    hidden_size: int = 16


class Elman(Core):
    """An Elman network that emits its state as "elman_state"."""

    Config = ElmanConfig

    def __init__(self, input_size, output_size, hidden_size):
        super().__init__()
        self.input_size, self.output_size = input_size, output_size or hidden_size
        self.cell = nn.RNNCell(input_size, hidden_size)
        self.out = nn.Linear(hidden_size, self.output_size)

    @classmethod
    def from_config(cls, config, input_size, output_size):
        return cls(input_size, output_size, config.hidden_size)

    def initial_state(self, batch_size, device=None, dtype=None):
        return (torch.zeros(batch_size, self.cell.hidden_size, device=device, dtype=dtype),)

    def forward(self, x, state):
        h = self.cell(x, state[0])
        emit("elman_state", h)
        return self.out(h), (h,)


@dataclass
class EchoConfig(TaskConfig):
    bits: int = 3
    max_length: int = 4


class EchoTask(Task):
    """Write each input vector back at the same step."""

    name = "echo"
    description = "echo each input vector"
    config_class = EchoConfig

    @property
    def input_size(self):
        return self.config.bits

    @property
    def output_size(self):
        return self.config.bits

    @property
    def train_lengths(self):
        return 1, self.config.max_length

    def sample(self, batch_size, generator, length=None):
        lengths = episode_sizes(self.name, batch_size, 1, self.config.max_length, generator, length)
        steps = int(lengths.max())
        mask = (torch.arange(steps).unsqueeze(1) < lengths).float()
        inputs = random_bits((steps, batch_size, self.config.bits), generator) * mask[..., None]
        return Batch(inputs, inputs.clone(), mask, lengths, mask)

    def render(self, batch, index=0, logits=None):
        return render_bits({"inputs": batch.inputs[:, index]})


@click.command()
def hello():
    """Say hello from the toy plugin."""
    click.echo("hello from the toy plugin")
'''

TOY_VIEWS = """
from augrnn.viz.views import heat_map, new_figure, register_view


@register_view("elman_state", needs=("elman_state",))
def elman_state(trace, batch, task, logits, index):
    fig = new_figure(5, 3)
    ax = fig.subplots()
    heat_map(fig, ax, trace.stack("elman_state")[:, index].numpy().T, "state", "step", "unit")
    fig.suptitle("the Elman state")
    return fig
"""

TOY_KINDS = """
from augrnn.interface import ModelKind
from toy_plugin import Elman, ElmanConfig

ELMAN = ModelKind(
    ElmanConfig,
    build_core=Elman.from_config,
    description="an Elman network",
    commands=("toy_plugin:hello",),
    views=("toy_plugin.views",),
)
"""

ENTRY_POINTS = """
[augrnn.models]
elman = toy_plugin.kinds:ELMAN

[augrnn.tasks]
echo = toy_plugin:EchoTask
"""


def _distribution(root, name, entry_points, package=None):
    """An installed distribution as importlib.metadata finds one: NAME-0.1.dist-info beside
    the package."""
    info = root / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    for module, source in (package or {}).items():
        path = root / module
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """The toy plugin installed (on sys.path with its entry points) for this test only."""
    root = tmp_path / "site"
    package = {
        "toy_plugin/__init__.py": TOY_PLUGIN,
        "toy_plugin/views.py": TOY_VIEWS,
        "toy_plugin/kinds.py": TOY_KINDS,
    }
    _distribution(root, "toy_plugin", ENTRY_POINTS, package)
    monkeypatch.syspath_prepend(str(root))
    registry.refresh()
    commands = dict(main.commands)
    yield root
    registry.refresh()
    main.commands.clear()
    main.commands.update(commands)
    VIEWS.pop("elman_state", None)


def test_a_plugin_model_and_task_train_resume_eval_and_draw_end_to_end(installed, tmp_path):
    preset = tmp_path / "echo.toml"
    preset.write_text(
        textwrap.dedent(
            """
            [task]
            name = "echo"

            [model]
            kind = "elman"

            [optim]
            name = "adam"
            lr = 0.03
            clip_value = "none"

            [train]
            steps = 100
            batch_size = 16
            eval_every = 50
            eval_sequences = 64
            tensorboard = false
            """
        )
    )
    run = tmp_path / "run"
    cli = CliRunner()
    trained = cli.invoke(main, ["train", str(preset), "--run-dir", str(run), "--no-progress"])
    assert trained.exit_code == 0, trained.output
    assert "ELMAN (" in trained.output
    resumed = cli.invoke(main, ["resume", str(run), "--no-progress", "--train.steps=300"])
    assert resumed.exit_code == 0, resumed.output
    evaluated = cli.invoke(main, ["eval", str(run), "--lengths", "2,8", "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    rows = json.loads(evaluated.output)
    assert [row["length"] for row in rows] == [2, 8] and rows[0]["step"] == 300
    # echoing 3 bits per step is learned: at first about 2 bits of cost per scored step
    assert rows[0]["cost_bits"] < 0.3 and rows[1]["bit_error_rate"] < 0.02, rows
    drawn = cli.invoke(main, ["viz", str(run)])
    assert drawn.exit_code == 0, drawn.output
    for figure in ("elman_state.png", "inputs_targets_outputs.png", "report.html"):
        assert (run / "viz" / figure).is_file(), drawn.output


def test_act_wraps_a_plugin_core_and_refuses_a_plugin_that_is_no_core(installed):
    config = config_from_dict(
        {"task": {"name": "echo"}, "model": {"kind": "act", "core": {"kind": "elman"}}}
    )
    model = build_model(config.model, 3, 3)
    assert isinstance(model.core, ACT) and model.core.core.input_size == 4
    with collecting_step_terms() as terms:
        y, _ = model(torch.randn(5, 2, 3))
    assert y.shape == (5, 2, 3) and terms.stacked("ponder_steps").shape == (5, 2)
    with pytest.raises(ConfigError, match="'table_lstm' is not a recurrent core"):
        config_from_dict({"model": {"kind": "act", "core": {"kind": "table_lstm"}}})


def test_a_plugin_is_named_by_reference_without_an_entry_point(tmp_path, monkeypatch):
    root = tmp_path / "site"
    _distribution(root, "other", "", {"toy_plugin/__init__.py": TOY_PLUGIN})
    monkeypatch.syspath_prepend(str(root))
    raw = {
        "task": {"name": "toy_plugin:EchoTask", "bits": 2},
        "model": {"kind": "toy_plugin:Elman", "hidden_size": 5},
    }
    try:
        config = config_from_dict(raw)
        assert config.task_name == "toy_plugin:EchoTask" and config.model.hidden_size == 5
        assert config_from_dict(config.to_dict()) == config
        model = build_model(config.model, 2, 2)
        assert model.core.cell.hidden_size == 5
    finally:
        registry.refresh()


def test_plugin_commands_join_the_cli_and_plugins_are_listed(installed):
    load_kind_commands()
    cli = CliRunner()
    helped = cli.invoke(main, ["--help"])
    assert "hello" in helped.output and "predict" in helped.output and "ask" in helped.output
    assert cli.invoke(main, ["hello"]).output == "hello from the toy plugin\n"
    listed = cli.invoke(main, ["models"])
    assert "elman" in listed.output and "hidden_size = 16" in listed.output
    assert "== echo: echo each input vector" in cli.invoke(main, ["tasks"]).output


def test_a_plugin_that_fails_to_load_is_named_and_breaks_nothing_else(installed, tmp_path):
    broken = tmp_path / "broken"
    _distribution(
        broken,
        "broken_plugin",
        "[augrnn.models]\nbroken = broken_plugin_module:KIND\n",
        {"broken_plugin_module.py": "raise ImportError('a dependency is missing')\n"},
    )
    sys.path.insert(0, str(broken))
    try:
        registry.refresh()
        with pytest.warns(PluginWarning, match="'broken' of augrnn.models failed to load"):
            names = registry.models.names()
        assert "elman" in names and "ntm" in names and "broken" not in names
        with pytest.raises(
            ConfigError, match="'broken' is a plugin that failed to load: .*a dependency is missing"
        ):
            load_preset("copy", {"model.kind": "broken"})
        listed = CliRunner().invoke(main, ["models"])
        assert listed.exit_code == 0 and "broken" in listed.output
        assert "a dependency is missing" in listed.output
        assert load_preset("copy").model == NTMConfig()
    finally:
        sys.path.remove(str(broken))
