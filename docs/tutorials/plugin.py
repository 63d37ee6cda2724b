# A plugin: a package of its own, installed beside augrnn, that adds a model kind, a task and a
# view through entry points; augrnn finds them without a file of its own touched. Here the
# package and its distribution metadata are written to a temporary folder on sys.path, as pip
# would install them.
import json
import sys
import tempfile
import textwrap
from pathlib import Path

from click.testing import CliRunner

from augrnn import registry

PACKAGE = '''
from dataclasses import dataclass

import torch
from torch import nn

from augrnn.core import Core, emit
from augrnn.interface import ModelConfig
from augrnn.viz.views import heat_map, new_figure, register_view


@dataclass
class ElmanConfig(ModelConfig):
    hidden_size: int = 32


class Elman(Core):
    """An Elman network that traces its state."""

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


@register_view("elman_state", needs=("elman_state",))
def elman_state(trace, batch, task, logits, index):
    fig = new_figure(6, 3)
    ax = fig.subplots()
    heat_map(fig, ax, trace.stack("elman_state")[:, index].numpy().T, "h_t", "step", "unit")
    fig.suptitle("the Elman state")
    return fig
'''

# What the package's pyproject.toml declares, as pip writes it into the installed metadata:
#   [project.entry-points."augrnn.models"]
#   elman = "my_elman:Elman"
#   [project.entry-points."augrnn.views"]
#   elman = "my_elman"
ENTRY_POINTS = """
[augrnn.models]
elman = my_elman:Elman

[augrnn.views]
elman = my_elman
"""

PRESET = """
[task]
name = "copy"
bits = 4
max_length = 5

[model]
kind = "elman"
hidden_size = 32

[optim]
name = "adam"
lr = 3e-3
clip_value = "none"

[train]
steps = 40
batch_size = 16
eval_every = 20
eval_sequences = 32
tensorboard = false
"""

with tempfile.TemporaryDirectory() as folder:
    site = Path(folder) / "site-packages"
    (site / "my_elman").mkdir(parents=True)
    (site / "my_elman" / "__init__.py").write_text(textwrap.dedent(PACKAGE))
    info = site / "my_elman-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-elman\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    sys.path.insert(0, str(site))
    registry.refresh()  # a running program looks again; a new process finds it by itself

    from augrnn.cli import main

    preset, run = Path(folder) / "elman_copy.toml", Path(folder) / "run"
    preset.write_text(PRESET)
    cli = CliRunner()
    for args in (
        ["train", str(preset), "--run-dir", str(run), "--no-progress"],
        ["resume", str(run), "--no-progress", "--train.steps=60"],
        ["eval", str(run), "--lengths", "3,10", "--json"],
        ["viz", str(run)],
    ):
        result = cli.invoke(main, args)
        assert result.exit_code == 0, result.output
    rows = json.loads(cli.invoke(main, ["eval", str(run), "--json"]).output)
    assert rows[0]["step"] == 60 and (run / "viz" / "elman_state.png").is_file()
    print(f"elman on copy after 60 steps: {rows[0]['cost_bits']:.1f} bits per sequence")
