"""The reinforcement-learning Neural Turing Machine (model kind ``rl_ntm``; Zaremba & Sutskever
2015, "Reinforcement Learning Neural Turing Machines", §3-§5), with discrete interfaces.

An LSTM controller works over a fixed budget of T steps per episode
(:class:`~augrnn.tasks.tapes.TapeBatch`; a batch runs its largest budget, the others idle).
At each step it sees the symbol under its input head, the vector under its memory head (when it
has a memory tape) and its previous actions, and chooses, by sampling in training and the most
probable choice in evaluation:

- an input head move in {−1, 0, +1} ({0, +1} where the task allows only forward moves);
- a memory head move in {−1, 0, +1}, after writing a vector (tanh of a linear map of its state,
  learned by backpropagation) into the cell under the head;
- whether to emit: the k-th emission is scored against the k-th target with the symbol
  distribution it gives (learned by backpropagation). Once the targets left equal the steps
  left it must emit, and once all are emitted it cannot.

Heads stay on their tapes: a move past either end leaves the head where it was (the input
tape's cells are the episode's, its ∅ included; the memory tape has T cells, zeros at first).
With ``direct_access`` the controller is the paper's "direct access" LSTM: scalar gates
σ(W_g h_t) from the controller add the symbol under the input head to the output (through a
learned map to the symbol logits) and, with a memory tape, to what is written, and add the
vector read to the output and to the cell written next (the head's neighbour: the vector read
before the head's last move joins what the next step writes). The paper's Table 4: the plain
LSTM solves copy and duplicated input only, the direct access controller all five tasks.

The discrete choices are trained with REINFORCE (:mod:`.reinforce`): the reward of a step is
the log-probability it gave its target (0 when it did not emit), each choice weighed by the
rewards from its step on, less a learned baseline b_t (a linear map of the controller's state,
its gradient stopped, regressed on those returns). The paper's baseline is a separate LSTM that
first reads the whole input; the linear one here is the simpler, online kind.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor, nn
from torch.distributions import Categorical

from augrnn.core import Trace
from augrnn.interface import Model, ModelConfig
from augrnn.rl_ntm.reinforce import baseline_loss, causal_returns, reinforce_surrogate
from augrnn.rl_ntm.soft import advance_counts, emission_probabilities, soft_move
from augrnn.settings import Range, at_least

#: Head moves, in the order of the move logits.
MOVES = (-1, 0, 1)
#: How the heads and the output are driven: sampled choices trained with REINFORCE, or soft
#: (differentiable) ones trained by backpropagation alone.
INTERFACES = ("discrete", "soft")


class Episode(NamedTuple):
    """What :meth:`RLNTM.run` returns.

    outputs:   (K, B, A) the symbol logits of the k-th emission, aligned with the targets.
    log_probs: (T, B) the log-probability of the choices made at each step (0 for a forced
               or impossible emission, and past the episode's budget).
    rewards:   (T, B) log p(target) at the steps that emitted, else 0 (no gradient).
    baselines: (T, B) b_t.
    """

    outputs: Tensor
    log_probs: Tensor
    rewards: Tensor
    baselines: Tensor


class RLNTM(Model):
    """The RL-NTM over a batch of tapes.

    Args:
        alphabet: A, the symbols on the tapes (∅ included).
        hidden_size: the LSTM controller's units.
        memory_width: D, the values of a memory cell (0: no memory tape; the paper's 35).
        baseline_weight: the weight of the baseline's regression in the loss.
        direct_access: the paper's direct access controller (see the module).
        interfaces: "discrete" (the RL-NTM) or "soft" (see :meth:`run_soft`).
    """

    def __init__(
        self,
        alphabet: int,
        hidden_size: int = 64,
        memory_width: int = 0,
        baseline_weight: float = 1.0,
        direct_access: bool = False,
        interfaces: str = "discrete",
    ):
        super().__init__()
        if interfaces not in INTERFACES:
            raise ValueError(
                f"model.interfaces must be one of {', '.join(INTERFACES)}, got {interfaces!r}"
            )
        self.interfaces = interfaces
        self.alphabet = alphabet
        self.memory_width = memory_width
        self.baseline_weight = baseline_weight
        self.direct_access = direct_access
        if direct_access:
            # gates: input -> output, and with a memory: memory -> output, input -> memory,
            # memory -> the next cell written
            self.gates = nn.Linear(hidden_size, 4 if memory_width else 1)
            self.input_to_output = nn.Linear(alphabet, alphabet, bias=False)
            if memory_width:
                self.memory_to_output = nn.Linear(memory_width, alphabet, bias=False)
                self.input_to_memory = nn.Linear(alphabet, memory_width, bias=False)
        actions = len(MOVES) * (2 if memory_width else 1) + 2
        self.cell = nn.LSTMCell(alphabet + memory_width + actions, hidden_size)
        self.input_move = nn.Linear(hidden_size, len(MOVES))
        self.memory_move = nn.Linear(hidden_size, len(MOVES)) if memory_width else None
        self.write = nn.Linear(hidden_size, memory_width) if memory_width else None
        self.emit = nn.Linear(hidden_size, 2)
        self.symbol = nn.Linear(hidden_size, alphabet)
        self.baseline = nn.Linear(hidden_size, 1)

    def _move_logits(self, hidden: Tensor, forward_only: bool) -> Tensor:
        """The input head's move logits (B, 3), back masked out where only forward moves are
        allowed."""
        logits = self.input_move(hidden)
        if forward_only:
            back = torch.tensor([True, False, False], device=logits.device)
            logits = logits.masked_fill(back, float("-inf"))
        return logits

    def _write(
        self,
        memory: Tensor,
        at_head: Tensor,
        hidden: Tensor,
        gates: Tensor | None,
        symbol: Tensor,
        last_read: Tensor,
    ) -> Tensor:
        """The memory (B, T, D) after writing tanh(W h_t) (plus, with direct access, the gated
        input symbol and the vector read before the head's last move) at the head's cells
        ``at_head`` (B, T): a one-hot head replaces its cell, a soft one blends into each."""
        written = torch.tanh(self.write(hidden))
        if gates is not None:
            written = (
                written + gates[:, 2:3] * self.input_to_memory(symbol) + gates[:, 3:4] * last_read
            )
        at_head = at_head[:, :, None]
        return memory * (1 - at_head) + at_head * written[:, None, :]

    def _symbol_logits(
        self, hidden: Tensor, gates: Tensor | None, symbol: Tensor, read: Tensor
    ) -> Tensor:
        """The emitted symbol's logits (B, A), with direct access's gated input and memory."""
        logits = self.symbol(hidden)
        if gates is not None:
            logits = logits + gates[:, :1] * self.input_to_output(symbol)
            if self.memory_width:
                logits = logits + gates[:, 1:2] * self.memory_to_output(read)
        return logits

    def _choose(self, logits: Tensor, greedy: bool) -> tuple[Tensor, Tensor]:
        """A choice per episode from ``logits`` (B, n), and its log-probability (B,)."""
        distribution = Categorical(logits=logits)
        choice = logits.argmax(-1) if greedy else distribution.sample()
        return choice, distribution.log_prob(choice)

    @staticmethod
    def _targets(batch: Any) -> Tensor:
        """Each episode's targets (B,), checked against its budget."""
        targets = batch.mask.sum(0).long()
        short = targets > batch.budgets
        if bool(short.any()):
            b = int(short.nonzero()[0])
            raise ValueError(
                f"a budget of {int(batch.budgets[b])} steps cannot emit {int(targets[b])} "
                f"targets (episode {b})"
            )
        return targets

    def run(self, batch: Any, greedy: bool | None = None, trace: Trace | None = None) -> Episode:
        """One pass over ``batch`` (a :class:`~augrnn.tasks.tapes.TapeBatch`); ``greedy``
        (default: in evaluation) takes the most probable choices instead of sampling.
        ``trace`` records per step the heads' positions ``rl_input_head`` and (with a memory
        tape) ``rl_memory_head`` (B,), the emissions ``rl_emit`` (B,) and the probabilities
        ``rl_input_move`` (B, 3) and ``rl_emit_probability`` (B,)."""
        greedy = not self.training if greedy is None else greedy
        tape, steps = batch.tape, batch.steps
        size = tape.shape[1]
        device = tape.device
        targets_left = self._targets(batch)
        columns = torch.arange(size, device=device)
        input_head = torch.zeros(size, dtype=torch.long, device=device)
        memory_head = torch.zeros(size, dtype=torch.long, device=device)
        memory = tape.new_zeros(size, steps, self.memory_width, dtype=torch.float)
        last_read = memory[:, 0]
        emitted = torch.zeros(size, dtype=torch.long, device=device)
        previous = tape.new_zeros(size, self.cell.input_size - self.alphabet - self.memory_width,
                                  dtype=torch.float)  # fmt: skip
        outputs = tape.new_zeros(*batch.targets.shape, self.alphabet, dtype=torch.float)
        state = None
        log_probs, rewards, baselines = [], [], []
        for t in range(steps):
            symbol = nn.functional.one_hot(tape[input_head, columns], self.alphabet).float()
            read = memory[columns, memory_head]
            state = self.cell(torch.cat([symbol, read, previous], -1), state)
            hidden = state[0]
            baselines.append(self.baseline(hidden.detach()).squeeze(-1))
            gates = torch.sigmoid(self.gates(hidden)) if self.direct_access else None

            move_logits = self._move_logits(hidden, batch.forward_only)
            move, log_prob = self._choose(move_logits, greedy)
            pieces = [nn.functional.one_hot(move, len(MOVES)).float()]
            if self.memory_width:
                at_head = nn.functional.one_hot(memory_head, steps).float()
                memory = self._write(memory, at_head, hidden, gates, symbol, last_read)
                last_read = read
                memory_move, memory_log_prob = self._choose(self.memory_move(hidden), greedy)
                log_prob = log_prob + memory_log_prob
                pieces.append(nn.functional.one_hot(memory_move, len(MOVES)).float())

            left = targets_left - emitted
            done = left == 0
            forced = (left >= batch.budgets - t) & ~done
            # past its budget an episode makes no choice (all its targets were emitted)
            active = t < batch.budgets
            log_prob = log_prob * active
            emit_logits = self.emit(hidden)
            choice, emit_log_prob = self._choose(emit_logits, greedy)
            emit = torch.where(forced, 1, torch.where(done, 0, choice))
            log_prob = log_prob + torch.where(forced | done, 0.0, emit_log_prob)
            pieces.append(nn.functional.one_hot(emit, 2).float())

            logits = self._symbol_logits(hidden, gates, symbol, read)
            slot = emitted.clamp_max(outputs.shape[0] - 1)
            placed = nn.functional.one_hot(slot, outputs.shape[0]).float().t() * emit
            outputs = outputs + placed[:, :, None] * logits[None]
            target = batch.targets[slot, columns]
            reward = logits.detach().log_softmax(-1).gather(1, target[:, None]).squeeze(1)
            rewards.append(reward * emit)
            log_probs.append(log_prob)

            if trace is not None:
                trace.record("rl_input_head", input_head)
                if self.memory_width:
                    trace.record("rl_memory_head", memory_head)
                trace.record("rl_emit", emit)
                trace.record("rl_input_move", move_logits.softmax(-1))
                trace.record("rl_emit_probability", emit_logits.softmax(-1)[:, 1])
                trace.next_step()

            emitted = emitted + emit
            input_head = (input_head + move - 1).clamp(
                torch.zeros_like(batch.tape_lengths), batch.tape_lengths - 1
            )
            if self.memory_width:
                memory_head = (memory_head + memory_move - 1).clamp(0, steps - 1)
            previous = torch.cat(pieces, -1)
        if trace is not None:
            trace.finish()
        return Episode(
            outputs, torch.stack(log_probs), torch.stack(rewards), torch.stack(baselines)
        )

    def run_soft(self, batch: Any, trace: Trace | None = None) -> tuple[Tensor, Tensor]:
        """One pass over ``batch`` with soft interfaces (:mod:`.soft`), the paper's comparison:
        the same controller and layers, but each head a distribution over its cells moved by
        the move probabilities (a read is the expected symbol or vector, a write blends into
        each cell by the head's weight there, as an NTM's), and the emissions a distribution
        over how many targets have been emitted, with the discrete run's forcing. Everything is
        trained by backpropagation; nothing is sampled.

        Returns ``outputs`` (K, B, A), the log of each target's symbol distribution mixed over
        the steps that may emit it (weighted by the probability that they do), and ``nll``
        (B,), the expected −Σ_k log p_t(y_k) over those steps. ``trace`` records what
        :meth:`run` does, the heads as their most probable cells and ``rl_emit`` where the
        expected emission is over 1/2."""
        tape, steps = batch.tape, batch.steps
        size, device = tape.shape[1], tape.device
        targets = self._targets(batch)
        slots = batch.targets.shape[0] + 1
        symbols = nn.functional.one_hot(tape.t(), self.alphabet).float()  # (B, L, A)
        input_weights = nn.functional.one_hot(
            torch.zeros(size, dtype=torch.long, device=device), tape.shape[0]
        ).float()
        memory_weights = nn.functional.one_hot(
            torch.zeros(size, dtype=torch.long, device=device), steps
        ).float()
        memory_cells = torch.full_like(targets, steps)
        memory = tape.new_zeros(size, steps, self.memory_width, dtype=torch.float)
        last_read = memory[:, 0]
        counts = nn.functional.one_hot(targets.new_zeros(size), slots).float()  # (B, K + 1)
        previous = tape.new_zeros(size, self.cell.input_size - self.alphabet - self.memory_width,
                                  dtype=torch.float)  # fmt: skip
        mixture = tape.new_zeros(*batch.targets.shape, self.alphabet, dtype=torch.float)
        nll = tape.new_zeros(size, dtype=torch.float)
        state = None
        for t in range(steps):
            symbol = torch.einsum("bl,bla->ba", input_weights, symbols)
            read = torch.einsum("bt,btd->bd", memory_weights, memory)
            state = self.cell(torch.cat([symbol, read, previous], -1), state)
            hidden = state[0]
            gates = torch.sigmoid(self.gates(hidden)) if self.direct_access else None

            moves = self._move_logits(hidden, batch.forward_only).softmax(-1)
            pieces = [moves]
            if self.memory_width:
                memory = self._write(memory, memory_weights, hidden, gates, symbol, last_read)
                last_read = read
                memory_moves = self.memory_move(hidden).softmax(-1)
                pieces.append(memory_moves)

            steps_left = batch.budgets - t
            emit = self.emit(hidden).softmax(-1)[:, 1]
            emissions = emission_probabilities(emit, targets, steps_left, slots)
            emitting = counts * emissions  # (B, K + 1): P(k emitted so far, and one now)
            expected = emitting.sum(1)
            pieces.append(torch.stack([1 - expected, expected], -1))

            log_p = self._symbol_logits(hidden, gates, symbol, read).log_softmax(-1)
            nll = nll - (emitting[:, :-1] * log_p.gather(1, batch.targets.t())).sum(1)
            mixture = mixture + emitting[:, :-1].t()[:, :, None] * log_p.exp()[None]

            if trace is not None:
                trace.record("rl_input_head", input_weights.argmax(-1))
                if self.memory_width:
                    trace.record("rl_memory_head", memory_weights.argmax(-1))
                trace.record("rl_emit", (expected > 0.5).long())
                trace.record("rl_input_move", moves)
                trace.record("rl_emit_probability", expected)
                trace.next_step()

            counts = advance_counts(counts, emissions)
            input_weights = soft_move(input_weights, moves, batch.tape_lengths)
            if self.memory_width:
                memory_weights = soft_move(memory_weights, memory_moves, memory_cells)
            previous = torch.cat(pieces, -1)
        if trace is not None:
            trace.finish()
        return mixture.clamp_min(1e-30).log(), nll

    # --- the model interface -------------------------------------------------------------------

    def loss(self, task: Any, batch: Any) -> tuple[Tensor, Tensor]:
        """The targets' negative log-likelihood (backpropagated into the symbols and the
        memory's contents), plus the REINFORCE surrogate of the choices and the baseline's
        regression. With soft interfaces: the expected negative log-likelihood of
        :meth:`run_soft`, by backpropagation alone."""
        if self.interfaces == "soft":
            _, nll = self.run_soft(batch)
            return nll.mean(), nll.mean()
        episode = self.run(batch)
        task_loss = task.loss(episode.outputs, batch)
        returns = causal_returns(episode.rewards)
        total = (
            task_loss
            + reinforce_surrogate(episode.log_probs, returns, episode.baselines)
            + self.baseline_weight * baseline_loss(episode.baselines, returns)
        )
        return total, task_loss

    def evaluation_outputs(self, batch: Any) -> Tensor:
        if self.interfaces == "soft":
            return self.run_soft(batch)[0]
        return self.run(batch, greedy=True).outputs

    def traced(self, batch: Any) -> tuple[Tensor, Trace]:
        trace = Trace()
        if self.interfaces == "soft":
            return self.run_soft(batch, trace=trace)[0], trace
        return self.run(batch, greedy=True, trace=trace).outputs, trace


@dataclass
class RLNTMConfig(ModelConfig):
    """The RL-NTM (model kind ``rl_ntm``): the keyword arguments of :class:`RLNTM` but the
    alphabet, which the task gives. The paper gives the memory 35 values and uses it only on
    forward_reverse; by default there is no memory tape."""

    hidden_size: int = 64
    memory_width: int = 0
    baseline_weight: float = 1.0
    #: The paper's "direct access" controller (see :mod:`augrnn.rl_ntm.model`).
    direct_access: bool = False
    #: "discrete" (REINFORCE), or "soft": the interfaces made differentiable
    #: (:meth:`RLNTM.run_soft`), the paper's comparison.
    interfaces: str = "discrete"

    RANGES: ClassVar[dict[str, Range]] = {
        "hidden_size": at_least(1),
        "memory_width": at_least(0),
        "baseline_weight": at_least(0),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.interfaces not in INTERFACES:
            raise ValueError(
                f"model.interfaces must be one of {', '.join(INTERFACES)}, got {self.interfaces!r}"
            )


def build_rl_ntm(config: RLNTMConfig, input_size: int, output_size: int) -> RLNTM:
    settings = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    return RLNTM(input_size, **settings)
