"""The planted NRAM circuit that solves Increment, for the model's and the view's tests."""

import pytest
import torch

from augrnn.nram.model import NRAM
from augrnn.nram.modules import MODULE_NAMES


def _planted_increment(registers=2) -> NRAM:
    """A controller that wires the same circuit at every step, ignoring what it sees:
    READ(r1), INC(READ), ADD(r1, ONE), WRITE(r1, INC); r1 := ADD, r2 := r2; never stop early."""
    model = NRAM(registers=registers, hidden_size=4)
    r = registers
    position = {name: r + i for i, name in enumerate(MODULE_NAMES)}
    a = {"READ": 0, "INC": position["READ"], "ADD": 0, "WRITE": 0}
    b = {"ADD": position["ONE"], "WRITE": position["INC"]}
    logits = []
    for i, name in enumerate(MODULE_NAMES):
        for chosen in (a.get(name, 0), b.get(name, 0)):
            choice = torch.full((r + i,), -50.0)
            choice[chosen] = 50.0
            logits.append(choice)
    for j in range(r):
        choice = torch.full((r + len(MODULE_NAMES),), -50.0)
        choice[position["ADD"] if j == 0 else j] = 50.0
        logits.append(choice)
    logits.append(torch.tensor([-50.0]))
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.cat(logits))
    return model


@pytest.fixture
def planted_increment():
    """A factory of the planted circuit: ``planted_increment(registers=2)``."""
    return _planted_increment
