"""The Neural GPU (model kind ``neural_gpu``; Kaiser & Sutskever 2015, "Neural GPUs Learn
Algorithms", §2-§3).

An input of n symbols is embedded, one symbol per column, into the first row of the state s_0,
a "mental image" of m maps over w rows and n columns (the other rows start at 0, and so does an
empty position: the pad symbol embeds to 0); s_0 = tanh of that. The state then goes through
n steps, each a stack of ``layers`` CGRUs (:mod:`augrnn.neural_gpu.cgru`) with weights shared
across steps, and the output at column i is a softmax of a 1 × 1 convolution of the first row
of s_n: one output symbol per input position. Every position computes in parallel, so a step
costs O(w · n · m² · kw · kh) and the whole input O(n²).

The paper's training aids, each an option (the preset ``long_binary_addition`` turns on those
the paper uses):

- ``parameter_sets`` r > 1, the parameter-sharing relaxation (§3): r sets of the CGRU weights,
  step t using set t mod r, and a penalty pull · Σ_i ‖p_i − p̄‖² added to the loss; pull starts at
  ``relax_pull`` and is multiplied by ``relax_growth`` every ``relax_every`` training steps (the
  reference code grows it at each advance of the curriculum), and once it reaches
  ``relax_tie`` the sets are replaced by their average and the model has one set from then on.
- ``state_dropout``: in training, each state vector (a position's m maps) is set to 0 with
  probability ``state_dropout`` · 8 / n at every step (the reference code's scaling with the
  width n; at most 0.5), "key for good length generalization".
- ``grad_noise`` η: Gaussian noise of variance η / (1 + t)^0.55 added to every gradient at
  training step t (the paper adds noise to the gradients without giving its scale; this is the
  annealed schedule of Neelakantan et al. 2015).
- ``activation`` "cutoff", the paper's cutoff sigmoid, or "hard" with ``saturation_cost``, the
  hard nonlinearities and saturation cost of Freivalds & Liepins 2017 (DNGPU; not in the
  paper), weighted per example and divided by n².
- ``diagonal_gates``: DNGPU's diagonal gates (:func:`~augrnn.neural_gpu.cgru.diagonal_shift`;
  not in the paper).
- The curriculum on length is the trainer's (``train.curriculum_start``), Adam with the
  paper's settings the optimiser's.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from augrnn.core import Trace
from augrnn.gradient_noise import gradient_noise_std, register_gradient_noise
from augrnn.interface import Model, ModelConfig
from augrnn.neural_gpu.cgru import ACTIVATIONS, cgru, saturation_cost
from augrnn.settings import Range, above, at_least, between, check_sizes


class NeuralGPU(Model):
    """The Neural GPU over a batch of symbol sequences.

    Args:
        input_size: I, the one-hot input symbols (an all-zero input is the empty symbol).
        output_size: K, the output classes per position.
        maps: m, feature maps of the state (the paper's reference: 24).
        rows: w, rows of the state (4).
        layers: CGRUs per step (2).
        kernel_width, kernel_height: kw (across rows) and kh (across columns), 3 × 3.
        parameter_sets, relax_pull, relax_growth, relax_every, relax_tie, state_dropout,
        grad_noise, activation, saturation_cost, diagonal_gates: see the module.

    ``forward(inputs)`` takes (T, B, I) and returns (T, B, K) logits; it runs T steps (T the
    batch's padded width).
    """

    supports_compile = True

    def __init__(
        self,
        input_size: int,
        output_size: int,
        *,
        maps: int = 24,
        rows: int = 4,
        layers: int = 2,
        kernel_width: int = 3,
        kernel_height: int = 3,
        parameter_sets: int = 1,
        relax_pull: float = 5e-4,
        relax_growth: float = 1.2,
        relax_every: int = 500,
        relax_tie: float = 0.1,
        state_dropout: float = 0.0,
        grad_noise: float = 0.0,
        activation: str = "cutoff",
        saturation_cost: float = 0.0,
        diagonal_gates: bool = False,
    ):
        super().__init__()
        check_sizes(
            type(self).__name__,
            input_size=input_size,
            output_size=output_size,
            maps=maps,
            rows=rows,
            layers=layers,
            kernel_width=kernel_width,
            kernel_height=kernel_height,
            parameter_sets=parameter_sets,
            relax_every=relax_every,
        )
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}"
            )
        self.maps, self.rows, self.layers = maps, rows, layers
        self.parameter_sets = parameter_sets
        self.relax_pull, self.relax_growth = relax_pull, relax_growth
        self.relax_every, self.relax_tie = relax_every, relax_tie
        self.state_dropout = state_dropout
        self.grad_noise = grad_noise
        self.activation = activation
        self.saturation_weight = saturation_cost
        self.diagonal_gates = diagonal_gates
        self.embed = nn.Linear(input_size, maps, bias=False)
        kernel = (kernel_width, kernel_height)
        bound = 1.0 / math.sqrt(maps * kernel_width * kernel_height)
        # (layers, r, ...): layer l at step t uses set t mod r.
        self.gate_weight = nn.Parameter(
            torch.empty(layers, parameter_sets, 2 * maps, maps, *kernel).uniform_(-bound, bound)
        )
        # Gate biases start at 1 (the reference code): the state is mostly kept at first.
        self.gate_bias = nn.Parameter(torch.ones(layers, parameter_sets, 2 * maps))
        self.candidate_weight = nn.Parameter(
            torch.empty(layers, parameter_sets, maps, maps, *kernel).uniform_(-bound, bound)
        )
        self.candidate_bias = nn.Parameter(torch.zeros(layers, parameter_sets, maps))
        with torch.no_grad():  # every set starts equal, as one shared set would
            for weight in self.relaxed_parameters():
                weight.copy_(weight[:, :1].expand_as(weight))
        self.readout = nn.Linear(maps, output_size)
        #: Training steps taken (the relaxation's and the noise's clock).
        self.register_buffer("steps_taken", torch.zeros((), dtype=torch.long))
        #: Whether the relaxed sets were tied into one.
        self.register_buffer("tied", torch.zeros((), dtype=torch.bool))
        self._step = self._layers
        if grad_noise > 0:
            register_gradient_noise(
                self, lambda: gradient_noise_std(self.grad_noise, int(self.steps_taken))
            )

    def relaxed_parameters(self) -> tuple[Tensor, ...]:
        return (self.gate_weight, self.gate_bias, self.candidate_weight, self.candidate_bias)

    # --- the relaxation ------------------------------------------------------------------------

    def pull(self) -> float:
        """The relaxation's current pull (0 with one set or once tied)."""
        if self.parameter_sets == 1 or bool(self.tied):
            return 0.0
        return self.relax_pull * self.relax_growth ** (int(self.steps_taken) // self.relax_every)

    def relaxation_penalty(self) -> Tensor:
        """Σ_i ‖p_i − p̄‖² over the sets of every relaxed weight (a scalar)."""
        total = self.gate_bias.new_zeros(())
        for weight in self.relaxed_parameters():
            total = total + (weight - weight.mean(1, keepdim=True)).pow(2).sum()
        return total

    @torch.no_grad()
    def tie(self) -> None:
        """Replace every set by their average; from then on the model has one set."""
        for weight in self.relaxed_parameters():
            weight.copy_(weight.mean(1, keepdim=True).expand_as(weight))
        self.tied.fill_(True)

    def set_at(self, step: int) -> int:
        return 0 if bool(self.tied) else step % self.parameter_sets

    # --- forward -------------------------------------------------------------------------------

    def _layers(
        self,
        state: Tensor,
        gate_weight: Tensor,
        gate_bias: Tensor,
        candidate_weight: Tensor,
        candidate_bias: Tensor,
    ) -> tuple[Tensor, Tensor, list[Tensor]]:
        """One step: the CGRU stack on ``state`` (B, m, w, n) with one set's weights (each
        (layers, ...)). Returns the new state, the last layer's update gate and every layer's
        pre-activations."""
        pre = []
        update = state
        for layer in range(self.layers):
            state, update, pre_activations = cgru(
                state,
                gate_weight[layer],
                gate_bias[layer],
                candidate_weight[layer],
                candidate_bias[layer],
                self.activation,
                self.diagonal_gates,
            )
            pre.append(pre_activations)
        return state, update, pre

    def compile_step(self, chunk_steps: int = 1, direct: bool = True) -> None:
        """Compile one step (the CGRU stack) with ``torch.compile``, for any width n."""
        self._step = torch.compile(self._layers, dynamic=False)

    def run(self, inputs: Tensor, trace: Trace | None = None) -> tuple[Tensor, Tensor]:
        """(T, B, I) inputs -> (T, B, K) logits and the saturation cost (a scalar, 0 unless
        ``saturation_cost`` is set in training). With a Trace, records at each step
        ``gpu_first_row`` (B, m, n), the first row of the image (where the output is read; the
        whole image would be w times larger), ``gpu_update`` (B, w, n), the last layer's update
        gate averaged over maps, and ``gpu_readout`` (B, K, n), the output distribution read
        from the first row so far. A trace holds O(m · n²) numbers per episode."""
        if inputs.dim() != 3:
            raise ValueError(
                f"the Neural GPU reads (time, batch, symbols) inputs, got shape "
                f"{tuple(inputs.shape)}"
            )
        width, batch, _ = inputs.shape
        state = inputs.new_zeros(batch, self.maps, self.rows, width)
        state[:, :, 0, :] = torch.tanh(self.embed(inputs)).permute(1, 2, 0)
        drop = min(0.5, self.state_dropout * 8 / width) if self.training else 0.0
        saturation = state.new_zeros(())
        for step in range(width):
            if drop > 0:
                keep = torch.rand(batch, 1, self.rows, width, device=state.device) >= drop
                state = state * keep
            index = self.set_at(step)
            weights = [w[:, index] for w in self.relaxed_parameters()]
            state, update, pre = self._step(state, *weights)
            if self.training and self.saturation_weight > 0:
                saturation = saturation + sum(saturation_cost(p) for p in pre)
            if trace is not None:
                trace.record("gpu_first_row", state[:, :, 0])
                trace.record("gpu_update", update.mean(1))
                trace.record("gpu_readout", torch.softmax(self._read(state), -1).permute(1, 2, 0))
                trace.next_step()
        if trace is not None:
            trace.finish()
        return self._read(state), saturation / width**2

    def _read(self, state: Tensor) -> Tensor:
        """The first row of ``state`` (B, m, w, n) read out: (n, B, K) logits."""
        return self.readout(state[:, :, 0, :].permute(2, 0, 1))

    def forward(self, inputs: Tensor) -> Tensor:
        return self.run(inputs)[0]

    # --- the model interface -------------------------------------------------------------------

    def loss(self, task: Any, batch: Any) -> tuple[Tensor, Tensor]:
        """The task's loss, plus the relaxation's penalty and the saturation cost; a training
        call counts a step, and first ties the sets once the pull has grown to ``relax_tie``
        (before the forward pass: the weights are changed in place)."""
        if self.training and self.parameter_sets > 1 and self.pull() >= self.relax_tie:
            self.tie()
        logits, saturation = self.run(batch.inputs)
        task_loss = task.loss(logits, batch)
        total = task_loss + self.saturation_weight * saturation
        pull = self.pull()
        if pull > 0:
            total = total + pull * self.relaxation_penalty()
        if self.training:
            self.steps_taken += 1
        return total, task_loss

    def evaluation_outputs(self, batch: Any) -> Tensor:
        return self(batch.inputs)

    def traced(self, batch: Any) -> tuple[Tensor, Trace]:
        trace = Trace()
        logits, _ = self.run(batch.inputs, trace=trace)
        return logits, trace


@dataclass
class NeuralGPUConfig(ModelConfig):
    """The Neural GPU (model kind ``neural_gpu``): the keyword arguments of
    :class:`NeuralGPU`. Defaults: the paper's reference model (m = 24 maps, w = 4 rows, 2 CGRUs
    of 3 × 3 kernels per step) without its training aids (see the module)."""

    maps: int = 24
    rows: int = 4
    layers: int = 2
    kernel_width: int = 3
    kernel_height: int = 3
    parameter_sets: int = 1
    relax_pull: float = 5e-4
    relax_growth: float = 1.2
    relax_every: int = 500
    relax_tie: float = 0.1
    state_dropout: float = 0.0
    grad_noise: float = 0.0
    activation: str = "cutoff"
    saturation_cost: float = 0.0
    diagonal_gates: bool = False

    RANGES: ClassVar[dict[str, Range]] = {
        "maps": at_least(1),
        "rows": at_least(1),
        "layers": at_least(1),
        "kernel_width": at_least(1),
        "kernel_height": at_least(1),
        "parameter_sets": at_least(1),
        "relax_pull": above(0),
        "relax_growth": at_least(1),
        "relax_every": at_least(1),
        "relax_tie": above(0),
        "state_dropout": between(0, 1),
        "grad_noise": at_least(0),
        "saturation_cost": at_least(0),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"model.activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}"
            )
        for name in ("kernel_width", "kernel_height"):
            if getattr(self, name) % 2 == 0:
                raise ValueError(
                    f"model.{name} must be odd (the convolution keeps the grid's size), got "
                    f"{getattr(self, name)}"
                )

    def summary(self, kind: str) -> str:
        relaxed = f", r = {self.parameter_sets}" if self.parameter_sets > 1 else ""
        return f"{kind} ({self.maps} maps x {self.rows} rows, {self.layers} CGRUs{relaxed})"


def build_neural_gpu(config: NeuralGPUConfig, input_size: int, output_size: int) -> NeuralGPU:
    settings = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    return NeuralGPU(input_size, output_size, **settings)
