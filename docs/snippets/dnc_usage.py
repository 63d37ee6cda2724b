# A DNC core stepped by hand, inside ACT, and as a sequence model.
import torch

from augrnn.act import ACTConfig
from augrnn.core import unroll
from augrnn.memory.dnc import DNC, DNCCell, DNCConfig
from augrnn.registry import build_model

cell = DNCCell(input_size=9, output_size=8, memory_slots=32, memory_width=16, read_heads=4)
state = cell.initial_state(batch_size=4)  # memory, usage, links and weightings all zero
y, state = cell(torch.randn(4, 9), state)  # one step: (B, input) -> (B, output)
assert state.link.shape == (4, 32, 32) and state.read_weights.shape == (4, 4, 32)
outputs, state = unroll(cell, torch.randn(12, 4, 9), state)  # go on for 12 steps
assert outputs.shape == (12, 4, 8)

dnc = DNC(input_size=9, output_size=8, batch_first=True)
logits, _ = dnc(torch.randn(4, 12, 9))  # (batch, time, features)
assert logits.shape == (4, 12, 8)

pondering = build_model(ACTConfig(core=DNCConfig(memory_slots=32)), 9, 8)  # ACT around a DNC
assert pondering(torch.randn(12, 4, 9))[0].shape == (12, 4, 8)
