# ACT around any core, and what it pondered.
import torch

from augrnn.act import ACT
from augrnn.controllers import RNNController
from augrnn.core import Trace, collecting_step_terms, unroll

act = ACT(RNNController(input_size=8 + 1, hidden_size=128), output_size=1, tau=1e-3)
x = torch.randn(5, 32, 8)  # (time, batch, features)
trace = Trace()
with collecting_step_terms() as terms:  # the ponder cost, still attached to the graph
    y, state = unroll(act, x, trace=trace)
loss = y.pow(2).mean() + terms.weighted_total(torch.ones(5, 32))  # + τ Σ_t ρ_t
loss.backward()
assert trace.stack("ponder_steps").shape == (5, 32)  # N(t) per input step and sample
assert trace.stack("halting_probabilities").shape == (5, 32, 100)  # p_t^n, zero beyond N(t)
