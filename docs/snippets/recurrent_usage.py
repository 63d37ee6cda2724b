# A recurrent stack as a model (with its read-out), and as the core that ACT wraps.
import torch

from augrnn.act import ACTConfig
from augrnn.controllers import LSTMConfig
from augrnn.registry import build_model

lstm = build_model(LSTMConfig(hidden_size=64, num_layers=2), input_size=9, output_size=8)
logits, state = lstm(torch.randn(20, 4, 9))  # (time, batch, features)
assert logits.shape == (20, 4, 8) and state.h.shape == (4, 2, 64)  # (B, layers, H)

pondering = build_model(ACTConfig(core=LSTMConfig(hidden_size=64, num_layers=1)), 9, 8)
assert pondering(torch.randn(20, 4, 9))[0].shape == (20, 4, 8)
