"""The Neural Random-Access Machine (model kind ``nram``; Kurach, Andrychowicz & Sutskever 2015,
"Neural Random-Access Machines", §3).

R registers r_1..r_R each hold a distribution over the integers 0..M−1, and the memory tape ℳ
(M cells, M values) a distribution per cell; memory starts with the task's input and the
registers at 0. At each of T timesteps the controller, which sees only P(r_i = 0) for each
register (so that its size does not depend on M), emits a "fuzzy circuit":

- for module i of Q (:data:`~augrnn.nram.modules.MODULES`), logits a_i, b_i over the R registers
  and the outputs of modules 1..i−1; its arguments are the mixtures those softmaxes weigh, and
  o_i = m_i(A, B) (§3, eq. 1-2);
- for register j, logits c_j over the R registers and the Q outputs: r_j := their mixture;
- the stop probability f_t = σ(x_t). Stopping after step t has probability
  p_t = f_t Π_{i<t} (1 − f_i), the last step taking what is left: p_T = 1 − Σ_{i<T} p_i.

The loss (§3) is the expected cost over the stopping time, −Σ_t p_t Σ_i log ℳ^{(t)}_{i, y_i},
over the cells i that should hold the output y, with log max(x, ε). Every result a module or a
register takes is renormalised to sum 1, without a gradient through the division (§5).
Evaluation scores the memory the stopping distribution predicts, Σ_t p_t ℳ^{(t)}.

The controller is an LSTM or the paper's other choice, a feed-forward network of two hidden
ReLU layers.

**Discretisation** (§5; Table 1's last column): with ``discretise``, evaluation runs the machine
the trained controller describes with every choice rounded: each module's inputs and each
register's new value are the controller's most probable options (one-hot weights), and the
machine stops at the first step with f_t > 1/2 (or at T). Started from one-hot memory and
registers, every register, module result and memory cell then holds one integer, as in a
discrete machine. Training is never discretised (the choices need their gradients).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor, nn

from augrnn.core import Trace
from augrnn.gradient_noise import gradient_noise_std, register_gradient_noise
from augrnn.interface import Model, ModelConfig
from augrnn.nram.modules import MODULE_NAMES, MODULES
from augrnn.settings import Range, above, at_least, between

CONTROLLERS = ("lstm", "mlp")


class Run(NamedTuple):
    """What :meth:`NRAM.run` returns: memories (T, B, M, M), stops p_t (T, B) and the mean
    entropy of the controller's choices (B,)."""

    memories: Tensor
    stops: Tensor
    entropy: Tensor


def _entropy(logits: Tensor) -> Tensor:
    """The entropy of softmax(logits) over the last dimension."""
    log_p = logits.log_softmax(-1)
    return -(log_p.exp() * log_p).sum(-1)


def _softmax(logits: Tensor) -> Tensor:
    return logits.softmax(-1)


def _most_probable(logits: Tensor) -> Tensor:
    """One-hot weights on the largest of ``logits`` over the last dimension."""
    return nn.functional.one_hot(logits.argmax(-1), logits.shape[-1]).to(logits.dtype)


def renormalised(x: Tensor) -> Tensor:
    """``x`` divided by its sum over the last dimension, the division outside the graph."""
    return x / x.sum(-1, keepdim=True).clamp_min(1e-30).detach()


class NRAM(Model):
    """The NRAM over a batch of memories (a :class:`~augrnn.tasks.pointers.MemoryBatch`).

    Args:
        registers: R (the paper: 2-4 depending on the task).
        controller: "lstm" or "mlp" (two hidden ReLU layers).
        hidden_size: the controller's units (per hidden layer for "mlp").
        modules: the circuit's module names in order (a name may repeat).
        epsilon: ε of log max(x, ε) in the loss.
        grad_noise: η, Gaussian noise of variance η / (1 + t)^0.55 added to every gradient at
            training step t (the paper's decaying noise; 0: none).
        entropy_bonus: β, the weight at step 0 of the mean entropy of the controller's choices
            (of module inputs and register values), subtracted from the loss; multiplied by
            ``entropy_decay`` every training step (the paper's decaying bonus; 0: none).
        entropy_decay: the bonus's factor per training step.
        activation_clip: C₁, each coordinate of the gradient reaching a module's result, a
            register or the memory clipped to [−C₁, C₁] (the paper's clipping of activations'
            gradients; None: none).
        discretise: in evaluation mode, round every choice and stop (see the module docstring).
    """

    def __init__(
        self,
        registers: int = 4,
        controller: str = "lstm",
        hidden_size: int = 64,
        modules: tuple[str, ...] = MODULE_NAMES,
        epsilon: float = 1e-6,
        grad_noise: float = 0.0,
        entropy_bonus: float = 0.0,
        entropy_decay: float = 1.0,
        activation_clip: float | None = None,
        discretise: bool = False,
    ):
        super().__init__()
        if controller not in CONTROLLERS:
            raise ValueError(f"controller must be one of {CONTROLLERS}, got {controller!r}")
        by_name = {module.name: module for module in MODULES}
        unknown = [name for name in modules if name not in by_name]
        if unknown or not modules:
            raise ValueError(
                f"modules must be names from {', '.join(MODULE_NAMES)}, got {list(modules)}"
            )
        self.registers = registers
        self.controller_kind = controller
        self.circuit = [by_name[name] for name in modules]
        self.epsilon = epsilon
        self.grad_noise = grad_noise
        self.entropy_bonus = entropy_bonus
        self.entropy_decay = entropy_decay
        self.activation_clip = activation_clip
        self.discretise = discretise
        #: Training steps taken (the clock of the noise and the bonus).
        self.register_buffer("steps_taken", torch.zeros((), dtype=torch.long))
        self.module_ids = torch.tensor([MODULE_NAMES.index(name) for name in modules])
        q = len(self.circuit)
        #: Logits per timestep: a_i and b_i for each module, c_j for each register, x_t.
        self.choice_sizes = [registers + i for i in range(q) for _ in range(2)]
        self.pair_sizes = [2 * (registers + i) for i in range(q)]
        self.output_size = sum(self.choice_sizes) + registers * (registers + q) + 1
        if controller == "lstm":
            self.cell = nn.LSTMCell(registers, hidden_size)
        else:
            self.cell = nn.Sequential(
                nn.Linear(registers, hidden_size),
                nn.ReLU(),
                nn.Linear(hidden_size, hidden_size),
                nn.ReLU(),
            )
        self.head = nn.Linear(hidden_size, self.output_size)
        if grad_noise > 0:
            register_gradient_noise(
                self, lambda: gradient_noise_std(self.grad_noise, int(self.steps_taken))
            )

    def _clipped(self, x: Tensor) -> Tensor:
        if self.activation_clip is not None and self.training and x.requires_grad:
            bound = self.activation_clip
            x.register_hook(lambda grad: grad.clamp(-bound, bound))
        return x

    def run(
        self,
        memory: Tensor,
        steps: int,
        trace: Trace | None = None,
        with_entropy: bool | None = None,
    ) -> Run:
        """T = ``steps`` timesteps from the initial ``memory`` (B, M, M) of probabilities.

        Returns the memories after each step (T, B, M, M), the stopping probabilities p_t
        (T, B), which sum to 1 over t, and the mean entropy of the controller's choices (B,),
        computed only ``with_entropy`` (by default, when there is an entropy bonus; zeros
        otherwise).
        ``trace`` records, per step, module i's choice of
        inputs ``nram_module{i}_a`` and ``_b`` (B, R + i), the registers' choices
        ``nram_register_choices`` (B, R, R + Q), ``nram_registers`` (B, R, M),
        ``nram_memory`` (B, M, M), ``nram_stop`` p_t (B,) and ``nram_module_ids`` (Q,), each
        module's index in :data:`~augrnn.nram.modules.MODULE_NAMES`.
        """
        if memory.dim() != 3 or memory.shape[1] != memory.shape[2]:
            raise ValueError(f"memory must be (B, M, M), got {tuple(memory.shape)}")
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        batch, m = memory.shape[0], memory.shape[1]
        q, r = len(self.circuit), self.registers
        registers = memory.new_zeros(batch, r, m)
        registers[:, :, 0] = 1.0
        state = None
        memories, stops = [], []
        running = memory.new_ones(batch)  # Π_{i<t} (1 − f_i)
        entropy = memory.new_zeros(batch)
        hard = self.discretise and not self.training
        weigh = _most_probable if hard else _softmax
        if with_entropy is None:
            with_entropy = self.entropy_bonus > 0
        for t in range(steps):
            seen = registers[:, :, 0]
            if self.controller_kind == "lstm":
                state = self.cell(seen, state)
                hidden = state[0]
            else:
                hidden = self.cell(seen)
            logits = self.head(hidden)
            # module i's a_i and b_i side by side: (B, 2, R + i)
            pairs = logits[:, : sum(self.choice_sizes)].split(self.pair_sizes, dim=1)
            rest = logits[:, sum(self.choice_sizes) :]
            register_logits = rest[:, : r * (r + q)].view(batch, r, r + q)
            options = [registers[:, j] for j in range(r)]
            for i, module in enumerate(self.circuit):
                stacked = torch.stack(options, dim=1)  # (B, R + i, M)
                pair_logits = pairs[i].view(batch, 2, r + i)
                weights = weigh(pair_logits)
                if with_entropy:
                    entropy = entropy + _entropy(pair_logits).sum(1)
                a, b = torch.bmm(weights, stacked).unbind(1)
                result, memory = module.apply(a, b, memory)
                options.append(self._clipped(renormalised(result)))
                if trace is not None:
                    trace.record(f"nram_module{i}_a", weights[:, 0])
                    trace.record(f"nram_module{i}_b", weights[:, 1])
            stacked = torch.stack(options, dim=1)  # (B, R + Q, M)
            register_weights = weigh(register_logits)
            registers = self._clipped(renormalised(torch.bmm(register_weights, stacked)))
            if with_entropy:
                entropy = entropy + _entropy(register_logits).sum(1)
            memory = self._clipped(renormalised(memory))
            f = (rest[:, -1] > 0).to(memory.dtype) if hard else torch.sigmoid(rest[:, -1])
            stop = running if t == steps - 1 else f * running
            running = running * (1 - f)
            memories.append(memory)
            stops.append(stop)
            if trace is not None:
                trace.record("nram_registers", registers)
                trace.record("nram_register_choices", register_weights)
                trace.record("nram_memory", memory)
                trace.record("nram_stop", stop)
                trace.record("nram_module_ids", self.module_ids)
                trace.next_step()
        if trace is not None:
            trace.finish()
        choices_made = steps * (2 * q + r)
        return Run(torch.stack(memories), torch.stack(stops), entropy / choices_made)

    def cost(self, memories: Tensor, stops: Tensor, batch: Any) -> Tensor:
        """The paper's loss per episode (B,): −Σ_t p_t Σ_i log max(ℳ^{(t)}_{i, y_i}, ε) over
        the scored cells i, in nats."""
        targets = batch.targets.t()  # (B, M)
        index = targets[None, :, :, None].expand(memories.shape[0], -1, -1, 1)
        right = memories.gather(3, index).squeeze(3)  # (T, B, M)
        log_right = right.clamp_min(self.epsilon).log() * batch.mask.t()[None]
        return -(stops * log_right.sum(2)).sum(0)

    @staticmethod
    def one_hot_memory(batch: Any) -> Tensor:
        """The batch's initial memory as probabilities: (M, B) integers -> (B, M, M)."""
        m = batch.memory.shape[0]
        return nn.functional.one_hot(batch.memory.t(), m).float()

    def option_names(self) -> list[str]:
        """What a module's input or a register's new value is chosen among, in order: the
        registers r1..rR, then the modules' outputs by name."""
        return [f"r{j + 1}" for j in range(self.registers)] + [m.name for m in self.circuit]

    def circuits(self, trace: Trace, index: int = 0) -> list[str]:
        """Episode ``index``'s most probable circuit at each timestep of ``trace``, as text:
        ``t=1: READ(r1) INC(READ) ... WRITE(r1, INC); r1 := ADD; p_t 0.01``. A module whose
        result no register or later module takes most probably is left out, and so is a
        register that keeps its value."""
        names = self.option_names()
        lines = []
        for t, step in enumerate(trace.steps):
            inputs = [
                (step[f"nram_module{i}_a"][index].argmax().item(),
                 step[f"nram_module{i}_b"][index].argmax().item())
                for i in range(len(self.circuit))
            ]  # fmt: skip
            kept = step["nram_register_choices"][index].argmax(-1).tolist()
            used = set(kept)
            for i in reversed(range(len(self.circuit))):
                if self.circuit[i].name == "WRITE" or self.registers + i in used:
                    used.update(inputs[i])
            calls = []
            for i, module in enumerate(self.circuit):
                if module.name != "WRITE" and self.registers + i not in used:
                    continue
                a, b = names[inputs[i][0]], names[inputs[i][1]]
                arguments = {"READ": a, "INC": a, "DEC": a, "ZERO": "", "ONE": "", "TWO": ""}
                calls.append(f"{module.name}({arguments.get(module.name, f'{a}, {b}')})")
            moves = [f"r{j + 1} := {names[k]}" for j, k in enumerate(kept) if k != j]
            stop = float(step["nram_stop"][index])
            lines.append(
                f"t={t + 1}: {' '.join(calls)}"
                + (f"; {', '.join(moves)}" if moves else "")
                + f"; p_t {stop:.2f}"
            )
        return lines

    # --- the model interface -------------------------------------------------------------------

    def bonus_weight(self) -> float:
        """The entropy bonus's current weight β · decay^t."""
        return self.entropy_bonus * self.entropy_decay ** int(self.steps_taken)

    def loss(self, task: Any, batch: Any) -> tuple[Tensor, Tensor]:
        """The paper's loss, less the entropy bonus; a training call counts a step."""
        memories, stops, entropy = self.run(self.one_hot_memory(batch), batch.steps)
        cost = self.cost(memories, stops, batch).mean()
        total = cost
        if self.entropy_bonus > 0:
            total = total - self.bonus_weight() * entropy.mean()
        if self.training:
            self.steps_taken += 1
        return total, cost

    def _expected_memory(self, memories: Tensor, stops: Tensor) -> Tensor:
        expected = torch.einsum("tb,tbim->ibm", stops, memories)  # (M cells, B, M values)
        return expected.clamp_min(self.epsilon).log()

    def evaluation_outputs(self, batch: Any) -> Tensor:
        """The log-probabilities of each cell's value under Σ_t p_t ℳ^{(t)}: (M, B, M)."""
        memories, stops, _ = self.run(self.one_hot_memory(batch), batch.steps)
        return self._expected_memory(memories, stops)

    def traced(self, batch: Any) -> tuple[Tensor, Trace]:
        trace = Trace()
        memories, stops, _ = self.run(self.one_hot_memory(batch), batch.steps, trace=trace)
        return self._expected_memory(memories, stops), trace

    @torch.no_grad()
    def describe_example(self, task: Any, batch: Any, index: int) -> list[str]:
        """The most probable circuit of each timestep (:meth:`circuits`)."""
        return ["circuits (most probable inputs):", *self.circuits(self.traced(batch)[1], index)]


@dataclass
class NRAMConfig(ModelConfig):
    """The NRAM (model kind ``nram``): the keyword arguments of :class:`NRAM`. The paper gives
    neither the controller's size nor the number of registers per task in its main text; the
    defaults (an LSTM of 64 units, 4 registers, the 14 modules once) are small enough for the
    CPU."""

    registers: int = 4
    controller: str = "lstm"
    hidden_size: int = 64
    #: The circuit's modules in order, comma-separated (a name may repeat).
    modules: str = ",".join(MODULE_NAMES)
    epsilon: float = 1e-6
    grad_noise: float = 0.0
    entropy_bonus: float = 0.0
    entropy_decay: float = 1.0
    activation_clip: float | None = None
    #: Evaluate the discretised machine (every choice rounded, stop at f_t > 1/2; the paper's
    #: §5): ``augrnn eval RUN --model.discretise=true``. Training stays soft.
    discretise: bool = False

    RANGES: ClassVar[dict[str, Range]] = {
        "registers": at_least(1),
        "hidden_size": at_least(1),
        "epsilon": between(0, 1, low_inclusive=False),
        "grad_noise": at_least(0),
        "entropy_bonus": at_least(0),
        "entropy_decay": between(0, 1, low_inclusive=False),
        "activation_clip": above(0),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.controller not in CONTROLLERS:
            raise ValueError(
                f"model.controller must be one of {', '.join(CONTROLLERS)}, got {self.controller!r}"
            )
        unknown = [name for name in self.module_names if name not in MODULE_NAMES]
        if unknown or not self.module_names:
            raise ValueError(
                f"model.modules must be comma-separated names of {', '.join(MODULE_NAMES)}; "
                f"got {self.modules!r}"
            )

    @property
    def module_names(self) -> tuple[str, ...]:
        return tuple(name.strip() for name in self.modules.split(",") if name.strip())

    def summary(self, kind: str) -> str:
        return (
            f"{kind} ({self.registers} registers, {len(self.module_names)} modules, "
            f"{self.controller})"
        )


def build_nram(config: NRAMConfig, input_size: int, output_size: int) -> NRAM:
    settings = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    settings["modules"] = config.module_names
    return NRAM(**settings)
