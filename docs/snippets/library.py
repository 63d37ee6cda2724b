# The library in ten lines: an NTM over a batch of sequences, and what its heads did.
import torch

from augrnn.core import Trace
from augrnn.memory.ntm import NTM

ntm = NTM(input_size=9, output_size=8, controller_size=100, memory_slots=128, memory_width=20)
x = torch.randn(41, 32, 9)  # (time, batch, features); batch_first=True also works
logits, state = ntm(x)  # like nn.LSTM: the outputs and the final state
trace = Trace()
logits, state = ntm(x, trace=trace)  # record what the heads did at every step
assert trace.stack("write_weights").shape == (41, 32, 1, 128)  # time, batch, head, slot
