"""The DNC's training step beside a bare LSTMCell of the controller's size, in one run.

A training step is forward + backward + Adam step on copy episodes of ``length`` (the default
20: 41 time steps, inputs (41, B, 9)), as in :mod:`augrnn.bench.ntm`. The contenders:

- ``lstm_cell``: the baseline, ``nn.LSTMCell(9, controller_size)`` unrolled over the same inputs
  with a linear read-out to the same 8 outputs and the same loss;
- ``dnc_eager``: the DNC (LSTM controller of ``controller_size``, memory ``memory_slots`` x
  ``memory_width``, ``read_heads`` read heads and one write head), eager;
- ``dnc_compiled``: the same DNC after ``DNC.compile_step()`` (kernels called directly); its
  first call compiles and is reported as ``compile_s``;
- ``links_floor_compiled``: a floor for any dense DNC, compiled: the DNC's LSTM controller
  with only the DNC's temporal links (:class:`LinksOnlyCell`: a write weighting and read
  weightings from its output, the update of the N x N link matrix L_t and of the precedence, and
  the forward and backward weightings L_t w, L_tᵀ w that reach the read-out), no memory and no
  allocation. Every dense DNC step does this work and more, so a DNC step cannot be faster than
  this one's ratio to ``lstm_cell``;
- ``dnc_package``: the DNC of the ``dnc`` package on PyPI at the same sizes (its LSTM
  controller of ``controller_size``, ``memory_slots`` cells of ``memory_width``,
  ``read_heads`` read heads), with a linear read-out of its outputs to the same 8 outputs;
  timed when that package imports (``pip install --no-deps dnc``).

Per batch size and contender: median seconds per step, sequences per second, the ratio of its
step time to ``lstm_cell``'s (``ratio_to_lstm_cell``) and peak memory (see
:mod:`augrnn.bench.common`).
"""

from __future__ import annotations

import importlib.util
from typing import Any

import torch
from torch import nn

from augrnn.bench.common import Options, Step, with_defaults
from augrnn.bench.ntm import LSTMCellBaseline, against_lstm_cell, copy_training_step
from augrnn.bench.ntm import table as ntm_table
from augrnn.controllers import build_controller
from augrnn.core import Core
from augrnn.memory import dnc_addressing
from augrnn.memory.dnc import DNC
from augrnn.sequence import RecurrentModel
from augrnn.tasks.copy import CopyTask

NAME = "dnc"
PEER = "dnc_package"
COMPILED = ("dnc_compiled", "links_floor_compiled")
SIZES = {
    "length": 20,
    "controller_size": 100,
    "memory_slots": 128,
    "memory_width": 20,
    "read_heads": 4,
}


def build_step(
    contender: str,
    *,
    device: str,
    batch_size: int,
    length: int,
    controller_size: int,
    memory_slots: int,
    memory_width: int,
    read_heads: int,
) -> Step:
    """One training step of ``contender`` on a fixed copy batch (seeded, the same for all)."""
    task = CopyTask()
    batch = task.sample(batch_size, torch.Generator().manual_seed(0), length=length).to(device)
    torch.manual_seed(0)
    if contender == "lstm_cell":
        model: nn.Module = LSTMCellBaseline(task.input_size, controller_size, task.output_size)
    elif contender in ("dnc_eager", *COMPILED):
        model = DNC(
            task.input_size,
            task.output_size,
            controller_size=controller_size,
            memory_slots=memory_slots,
            memory_width=memory_width,
            read_heads=read_heads,
        )
    elif contender == "links_floor_compiled":
        model = RecurrentModel(
            LinksOnlyCell(
                task.input_size, task.output_size, controller_size, memory_slots, read_heads
            )
        )
    elif contender == PEER:
        sizes = (controller_size, memory_slots, memory_width, read_heads)
        gpu = 0 if device.startswith("cuda") else -1
        model = PackageDNC(task.input_size, task.output_size, *sizes, gpu_id=gpu)
    else:
        raise ValueError(f"unknown dnc contender {contender!r}")
    model.to(device)
    if contender in COMPILED:
        model.compile_step()
    return copy_training_step(model, task, batch, sequence_model=contender != "lstm_cell")


class LinksOnlyCell(Core):
    """The DNC's LSTM controller with the DNC's temporal memory links and nothing else of its
    memory: the floor of a dense DNC step (the paper's L_t and p_t, through
    :mod:`augrnn.memory.dnc_addressing`).

    From the controller output h_t (B, H): a write weighting w^w_t (B, N), a softmax over N + 1
    entries without the last (so it sums to at most 1, as the DNC's does), and read weightings
    w^r_t (B, R, N), softmaxes over N. Each step updates L_t (B, N, N) and p_t (B, N) and reads the
    forward and backward weightings of the previous read weightings; their sum over heads, (B, N),
    joins h_t in the read-out, so the backward pass runs through the links.
    """

    def __init__(self, input_size, output_size, controller_size, slots, read_heads):
        super().__init__()
        self.input_size, self.output_size = input_size, output_size
        self.slots, self.read_heads = slots, read_heads
        self.controller = build_controller("lstm", input_size, controller_size, 1)
        self.write = nn.Linear(controller_size, slots + 1)
        self.read = nn.Linear(controller_size, read_heads * slots)
        self.readout = nn.Linear(controller_size + slots, output_size)

    def initial_state(self, batch_size, device=None, dtype=None):
        def zeros(*shape):
            return torch.zeros(*shape, device=device, dtype=dtype)

        b, n = batch_size, self.slots
        controller = self.controller.initial_state(batch_size, device, dtype)
        return controller, zeros(b, n, n), zeros(b, n), zeros(b, self.read_heads, n)

    def forward(self, x, state):
        controller, link, precedence, prev_reads = state
        h, controller = self.controller(x, controller)
        write = torch.softmax(self.write(h), dim=-1)[:, :-1]
        link = dnc_addressing.update_link(link, precedence, write)
        precedence = dnc_addressing.update_precedence(precedence, write)
        forward, backward = dnc_addressing.directional_weights(link, prev_reads)
        reads = torch.softmax(self.read(h).view(-1, self.read_heads, self.slots), dim=-1)
        output = self.readout(torch.cat([h, (forward + backward).sum(1)], dim=-1))
        return output, (controller, link, precedence, reads)


class PackageDNC(nn.Module):
    """The ``dnc`` package's DNC over (T, B, input_size), reset every call, with a linear
    read-out; returns (outputs, None) as a sequence model does."""

    def __init__(
        self, input_size, output_size, controller_size, slots, width, read_heads, gpu_id=-1
    ):
        super().__init__()
        from dnc import DNC as Peer

        self.dnc = Peer(
            input_size=input_size,
            hidden_size=controller_size,
            rnn_type="lstm",
            num_layers=1,
            nr_cells=slots,
            cell_size=width,
            read_heads=read_heads,
            gpu_id=gpu_id,
        )
        self.readout = nn.Linear(input_size, output_size)

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, None]:
        outputs, _ = self.dnc(
            inputs, (None, None, None), reset_experience=True, pass_through_memory=True
        )
        return self.readout(outputs), None


def run(options: Options, **sizes: Any) -> dict[str, Any]:
    """Time the contenders at each batch size; ``sizes`` override :data:`SIZES`."""
    sizes = with_defaults(NAME, SIZES, sizes)
    contenders = ["lstm_cell", "dnc_eager"] + (list(COMPILED) if options.compile else [])
    if importlib.util.find_spec("dnc") is not None:
        contenders.append(PEER)
    return against_lstm_cell(NAME, build_step, contenders, COMPILED, sizes, options)


table = ntm_table
