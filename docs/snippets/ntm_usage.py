# An NTM core stepped by hand, then as a sequence model with a compiled step.
import torch

from augrnn.core import unroll
from augrnn.memory.ntm import NTM, NTMCell

cell = NTMCell(input_size=9, output_size=8, memory_slots=64, memory_width=16, read_heads=2)
state = cell.initial_state(batch_size=4)
y, state = cell(torch.randn(4, 9), state)  # one step: (B, input) -> (B, output)
assert state.memory.shape == (4, 64, 16) and state.read_weights.shape == (4, 2, 64)
outputs, state = unroll(cell, torch.randn(12, 4, 9), state)  # go on for 12 steps
assert outputs.shape == (12, 4, 8)

ntm = NTM(input_size=9, output_size=8, batch_first=True, memory_init="learned")
logits, _ = ntm(torch.randn(4, 12, 9))  # (batch, time, features)
assert logits.shape == (4, 12, 8)
