import pytest
import torch

from augrnn.act import ACT
from augrnn.controllers import GRUController, LSTMController, Readout, RNNController
from augrnn.core import collecting_step_terms
from augrnn.memory.ntm import NTMCell
from augrnn.models import build_model
from augrnn.train.config import ActConfig, ModelConfig

SMALL_NTM = ModelConfig(controller_size=8, memory_slots=6, memory_width=4)


@pytest.mark.parametrize(
    ("config", "stack"),
    [
        (ModelConfig(kind="lstm", hidden_size=8, num_layers=2), LSTMController),
        (ModelConfig(kind="gru", hidden_size=8, num_layers=1), GRUController),
        (ModelConfig(kind="rnn", hidden_size=8, num_layers=1), RNNController),
    ],
)
def test_recurrent_stacks_get_a_readout(config, stack):
    model = build_model(config, 5, 3)
    assert isinstance(model.core, Readout) and isinstance(model.core.core, stack)
    y, _ = model(torch.randn(4, 2, 5))
    assert y.shape == (4, 2, 3)


def test_ntm_without_pondering():
    model = build_model(SMALL_NTM, 5, 3)
    assert isinstance(model.core, NTMCell) and model.core.memory_slots == 6
    y, _ = model(torch.randn(4, 2, 5))
    assert y.shape == (4, 2, 3)


@pytest.mark.parametrize("halting", ["act", "pondernet"])
@pytest.mark.parametrize(
    "config", [SMALL_NTM, ModelConfig(kind="rnn", hidden_size=8, num_layers=1)]
)
def test_pondering_wraps_the_core_with_the_flag_input(config, halting):
    act = ActConfig(halting=halting, tau=0.01, max_steps=5)
    model = build_model(config, 5, 3, act)
    assert isinstance(model.core, ACT) and model.core.halting == halting
    assert model.core.core.input_size == 6 and model.core.max_steps == 5
    with collecting_step_terms() as terms:
        y, _ = model(torch.randn(4, 2, 5))
    assert y.shape == (4, 2, 3)
    assert terms.stacked("ponder_steps").shape == (4, 2)


def test_unknown_model_kind():
    with pytest.raises(ValueError, match="model.kind must be one of"):
        build_model(ModelConfig(kind="dnc"), 5, 3)
