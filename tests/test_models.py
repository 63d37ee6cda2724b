import pytest
import torch

from augrnn.memory.ntm import NTM, RecurrentModel
from augrnn.models import build_model
from augrnn.train.config import ModelConfig


def test_build_model_kinds():
    ntm = build_model(ModelConfig(controller_size=8, memory_slots=6, memory_width=4), 5, 3)
    assert isinstance(ntm, NTM) and ntm.core.memory_slots == 6
    lstm = build_model(ModelConfig(kind="lstm", hidden_size=8, num_layers=2), 5, 3)
    assert isinstance(lstm, RecurrentModel) and not isinstance(lstm, NTM)
    for model in (ntm, lstm):
        y, _ = model(torch.randn(4, 2, 5))
        assert y.shape == (4, 2, 3)


def test_unknown_model_kind():
    with pytest.raises(ValueError, match="model.kind must be one of"):
        build_model(ModelConfig(kind="dnc"), 5, 3)
