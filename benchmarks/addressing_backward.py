"""The NTM addressing with its hand-written backward passes against autograd's, in one run.

    python benchmarks/addressing_backward.py --threads 1

Eagerly, :func:`augrnn.addressing.address` runs two functions whose backward passes are written
out: :class:`augrnn.addressing.CosineContentWeights` (content addressing, NTM eqs 5-6) and
:class:`augrnn.addressing.LocationAddressing` (interpolation, shift and sharpening, eqs 7-9);
under ``torch.compile`` it leaves the backward pass to autograd and inductor. This script checks
the hand-written gradients against autograd's in float64 (finite differences, and autograd's
own gradients with an all-zero memory row and a zero weight after the shift), then times, with
the contenders alternating within each repeat:

- the whole addressing of one head, forward + backward, eager and compiled (``torch.compile``,
  fullgraph), at the copy NTM's sizes (N = 128, M = 20, shifts −1, 0, 1), autograd's backward
  against the hand-written;
- the copy NTM's whole eager training step (the ``ntm_eager`` step of ``augrnn bench ntm``) as
  it runs, against the same step with autograd's backward for the addressing.

Each figure is a median over ``--repeats`` timings, each covering at least 0.05 s of
consecutive calls (as in ``augrnn bench``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from unittest import mock

import torch
from torch import Tensor

from augrnn import addressing
from augrnn.bench.common import time_alternating
from augrnn.bench.ntm import SIZES, build_step

SHIFT_WIDTH = 3


def autograd_address(keys, strengths, gate, shift, gamma, memory, prev_w, similarity="cosine"):
    """:func:`augrnn.addressing.address` differentiated by autograd throughout."""
    if similarity == "cosine":
        scores = addressing.cosine_similarity(keys, memory)
        w_c = torch.softmax(strengths.unsqueeze(-1) * scores, dim=-1)
    else:
        w_c = addressing.content_weights(keys, memory, strengths, similarity)
    w_g = addressing.interpolate(w_c, prev_w, gate)
    w_s = addressing.circular_shift(w_g, shift)
    w = addressing.sharpen(w_s, gamma)
    return w, {"content": w_c, "gated": w_g, "shifted": w_s}


def hand_address(keys, strengths, gate, shift, gamma, memory, prev_w):
    """The hand-written functions, called directly (also under ``torch.compile``)."""
    w_c = addressing.CosineContentWeights.apply(keys, memory, strengths)
    return addressing.LocationAddressing.apply(w_c, prev_w, gate, shift, gamma)[0]


def addressing_inputs(batch: int, slots: int, width: int, dtype=torch.float32, zeros=False):
    """Seeded arguments of :func:`augrnn.addressing.address` for two heads: keys (B, 2, M),
    strengths, gates, gammas (B, 2), shifts (B, 2, 3), memory (B, N, M), previous weights
    (B, 2, N). With ``zeros``, memory row 0 is all zeros and the shifted weights hold zeros."""
    generator = torch.Generator().manual_seed(0)

    def draw(*shape):
        return torch.rand(*shape, dtype=dtype, generator=generator)

    heads = 2
    keys = torch.randn(batch, heads, width, dtype=dtype, generator=generator)
    memory = torch.randn(batch, slots, width, dtype=dtype, generator=generator)
    prev_w = torch.softmax(torch.randn(batch, heads, slots, dtype=dtype, generator=generator), -1)
    shift = torch.softmax(
        torch.randn(batch, heads, SHIFT_WIDTH, dtype=dtype, generator=generator), -1
    )
    gate = draw(batch, heads)
    if zeros:
        memory[:, 0] = 0.0
        # A gate of 0 keeps the one-hot previous weights; an unshifting s keeps their zeros.
        prev_w = torch.zeros_like(prev_w)
        prev_w[..., 0] = 1.0
        gate = torch.zeros_like(gate)
        shift = torch.zeros_like(shift)
        shift[..., SHIFT_WIDTH // 2] = 1.0
    args = (keys, 5 * draw(batch, heads), gate, shift, 1 + 3 * draw(batch, heads), memory, prev_w)
    return [t.requires_grad_() for t in args]


def check_gradients() -> None:
    """Raises unless the hand-written gradients match autograd's in float64."""
    torch.autograd.gradcheck(hand_address, addressing_inputs(2, 5, 4, torch.float64))
    inputs = addressing_inputs(2, 5, 4, torch.float64, zeros=True)
    upstream = torch.randn(2, 2, 5, dtype=torch.float64)
    expected = torch.autograd.grad(autograd_address(*inputs)[0], inputs, upstream)
    got = torch.autograd.grad(hand_address(*inputs), inputs, upstream)
    for e, g in zip(expected, got, strict=True):
        if not torch.allclose(e, g, rtol=1e-10, atol=1e-12):
            raise AssertionError("a hand-written gradient differs from autograd's")


def function_calls(batch: int) -> dict[str, Callable[[], None]]:
    """Forward + backward of the addressing at the copy NTM's sizes, four ways."""
    inputs = addressing_inputs(batch, SIZES["memory_slots"], SIZES["memory_width"])
    upstream = torch.randn(batch, 2, SIZES["memory_slots"])

    def autograd_weights(*args: Tensor) -> Tensor:
        return autograd_address(*args)[0]

    functions = {
        "autograd_eager": autograd_weights,
        "hand_eager": hand_address,
        "autograd_compiled": torch.compile(autograd_weights, fullgraph=True),
        "hand_compiled": torch.compile(hand_address, fullgraph=True),
    }

    def call_of(function):
        return lambda: torch.autograd.backward(function(*inputs), upstream)

    return {name: call_of(function) for name, function in functions.items()}


def step_calls(batch: int) -> dict[str, Callable[[], None]]:
    """The copy NTM's eager training step, with autograd's and the hand-written backward."""
    sizes = dict(SIZES, batch_size=batch, device="cpu")
    autograd_step, hand_step = build_step("ntm_eager", **sizes), build_step("ntm_eager", **sizes)

    def autograd() -> None:
        with mock.patch.object(addressing, "address", autograd_address):
            autograd_step()

    return {"autograd_step": autograd, "hand_step": hand_step}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    check_gradients()
    print("gradients: the hand-written backward passes match autograd's in float64")
    print("| batch | contender | median (ms) | x autograd |")
    print("|---|---|---|---|")
    for batch in args.batch_sizes:
        medians = {}
        for calls in (function_calls(batch), step_calls(batch)):
            medians.update(time_alternating(calls, args.repeats, warmup=3, min_time=0.05))
        for name, seconds in medians.items():
            baseline = medians["autograd_" + name.split("_")[1]]
            print(f"| {batch} | {name} | {seconds * 1e3:.3f} | {seconds / baseline:.3f}x |")


if __name__ == "__main__":
    main()
