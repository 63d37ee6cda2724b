"""The DNC benchmark's floor: an LSTM that keeps only the DNC's temporal links."""

import torch

from augrnn.bench.dnc import COMPILED, LinksOnlyCell, build_step
from augrnn.sequence import RecurrentModel


def test_the_links_floor_backpropagates_through_the_link_matrix():
    torch.manual_seed(0)
    cell = LinksOnlyCell(input_size=3, output_size=2, controller_size=5, slots=6, read_heads=2)
    outputs, (_, link, precedence, reads) = RecurrentModel(cell)(torch.randn(4, 3, 3))
    assert outputs.shape == (4, 3, 2)
    assert torch.all(torch.diagonal(link, dim1=-2, dim2=-1) == 0)
    assert torch.all(link.sum(-1) <= 1 + 1e-6) and torch.all(precedence.sum(-1) <= 1 + 1e-6)
    assert torch.allclose(reads.sum(-1), torch.ones(3, 2))
    outputs.sum().backward()
    # The write and read weightings reach the output only through L_t and its directional reads.
    assert cell.write.weight.grad.abs().sum() > 0
    assert cell.read.weight.grad.abs().sum() > 0


def test_the_links_floor_is_a_compiled_contender_of_the_dnc_benchmark():
    assert "links_floor_compiled" in COMPILED
    step = build_step(
        "links_floor_compiled",
        device="cpu",
        batch_size=2,
        length=2,
        controller_size=4,
        memory_slots=4,
        memory_width=3,
        read_heads=2,
    )
    # Calling it compiles (tens of seconds): `augrnn bench dnc` times it.
    assert callable(step)
