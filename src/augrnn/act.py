"""Adaptive Computation Time (Graves 2016, arXiv 1603.08983) and PonderNet (Banino et al. 2021,
arXiv 2107.05407) around any core.

:class:`ACT` wraps a core S and lets it take a learned number of *ponder steps* n = 1, 2, ... for
each input x_t (equation numbers are the ACT paper's):

    x_t^n = [x_t, δ_{n,1}]                    the first-step flag (eq 7)
    s_t^n = S(s_t^{n-1}, x_t^n),  s_t^0 = s_{t-1}      (eq 2)
    y_t^n = W_y s_t^n + b_y                               (eq 4)
    h_t^n = σ(W_h s_t^n + b_h),   b_h initialised to 1   (eq 3)

where s_t^n, for the halting unit and the output, is the wrapped core's output (an LSTM's hidden
vector, an NTM's read-out features). With ``halting="act"``:

    N(t) = min{M, min{n' : Σ_{n≤n'} h_t^n ≥ 1 − ε}}       (eq 5)
    R(t) = 1 − Σ_{n<N(t)} h_t^n                           (eq 6)
    p_t^n = h_t^n for n < N(t), R(t) for n = N(t)         (eq 7)
    s_t = Σ_n p_t^n s_t^n,  y_t = Σ_n p_t^n y_t^n          (eqs 9, 10)
    ρ_t = N(t) + R(t);  the loss gains τ Σ_t ρ_t           (eqs 11, 12)

The mean field s_t covers the whole state of the wrapped core: an LSTM's cell as well as its
hidden vector, an NTM's memory, weights and reads. N(t) is piecewise constant, so autograd gives
exactly ∂ρ_t/∂h_t^n = −1 for n < N(t) and 0 for n = N(t) (eqs 14–20).

With ``halting="pondernet"`` the unit gives λ_n, the probability of halting at step n having not
halted before: p_n = λ_n Π_{j<n}(1 − λ_j). Training unrolls each sample until Σ p ≥ 1 − ε (or M
steps) and sets λ = 1 at that last step so p is a distribution; the loss is the expected task loss
Σ_n p_n L(y, ŷ_n) plus β KL(p ‖ Geometric(λ_p) truncated to the same steps), and the next input
step starts from the mean-field state. In evaluation the halting step is sampled and its output
and state are used.

Each sample halts on its own: once halted its output and state stop changing, and the loop over
ponder steps ends when every sample in the batch has halted. The wrapped core still runs on the
whole batch (one batched call per ponder step); a halted sample's results enter the sums with
weight exactly 0, by multiplication, so they must stay finite (as every bounded core's do).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor, nn

from augrnn.compiled_step import with_direct_calls
from augrnn.core import (
    Core,
    Trace,
    add_step_extra,
    add_step_term,
    check_compiled_device,
    compile_fresh,
    device_type,
    emit,
    is_collecting_step_terms,
    is_tracing,
    tracing,
    tree_map,
)
from augrnn.interface import ModelConfig, ModelKind, core_field
from augrnn.registry import build_core, describe_model
from augrnn.settings import ANY, Range, at_least, between, check_integers

HALTING_SCHEMES = ("act", "pondernet")


class ACTState(NamedTuple):
    """core: the wrapped core's state s_{t-1} (after the mean field of the last input step)."""

    core: Any


def check_halting_settings(
    halting: str, tau: float, epsilon: float, max_steps: int, beta: float, prior: float
) -> None:
    """Raise ``ValueError`` with the expected range for any setting out of range."""
    if halting not in HALTING_SCHEMES:
        raise ValueError(f"halting must be one of {HALTING_SCHEMES}, got {halting!r}")
    if not tau >= 0:
        raise ValueError(f"the ponder cost weight tau must be >= 0, got {tau}")
    if not 0 < epsilon < 1:
        raise ValueError(f"epsilon must lie in (0, 1), got {epsilon}")
    if max_steps < 1:
        raise ValueError(f"max_steps (M) must be >= 1, got {max_steps}")
    if not beta >= 0:
        raise ValueError(f"the KL weight beta must be >= 0, got {beta}")
    if not 0 < prior <= 1:
        raise ValueError(f"the geometric prior's lambda_p must lie in (0, 1], got {prior}")


class _PonderLoop(NamedTuple):
    """What the ponder loop carries from step n to n + 1; every tensor is batch-first (B, ...).

    running:     1 for samples not yet halted, else 0 (floating point, so that it masks by
                 multiplication).
    halting_sum: ACT: Σ_{n'<n} h; PonderNet: Σ_{n'<n} p.
    not_halted:  PonderNet: Π_{j<n} (1 − λ_j); None with ACT.
    steps, remainder: N(t) and R(t) so far.
    output, mean_state: Σ p y and Σ p s so far.
    Before the first ponder step every field but core_state is None.
    """

    core_state: Any
    running: Tensor | None
    halting_sum: Tensor | None
    not_halted: Tensor | None
    steps: Tensor | None
    remainder: Tensor | None
    output: Tensor | None
    mean_state: Any


class _PackedLoop(NamedTuple):
    """:class:`_PonderLoop` as the compiled step passes it on: the four (B,) fields in one
    ``ledger`` (B, 4), since each tensor that enters or leaves a compiled call costs time.
    Its columns: running, halting_sum, steps, and then ρ so far (N + R, ACT) or not_halted
    (PonderNet, whose R is 0). Before the first ponder step every field but core_state is None.
    """

    core_state: Any
    ledger: Tensor | None
    output: Tensor | None
    mean_state: Any


def _check_core(core: Any) -> None:
    missing = [
        name
        for name in ("initial_state", "forward", "input_size", "output_size")
        if not hasattr(core, name)
    ]
    if not isinstance(core, nn.Module) or missing:
        raise TypeError(
            "ACT wraps a core: an nn.Module with initial_state(batch_size, device, dtype), "
            "forward(x, state) -> (output, state), input_size and output_size; "
            f"{type(core).__name__} lacks {', '.join(missing) or 'nn.Module'}"
        )
    if not getattr(core, "averageable_state", True):
        raise ValueError(
            f"ACT averages the states of its ponder steps, which {type(core).__name__} cannot "
            "give it with these settings (a sparse DNC updates its memory in place: use the "
            "dense DNC inside ACT)"
        )
    if core.input_size < 2:
        raise ValueError(
            "the wrapped core reads the input plus the first-step flag, so its input_size must "
            f"be at least 2, got {core.input_size}"
        )


def _accumulate(totals: Any, p: Tensor, values: Any) -> Any:
    """totals + p · values over the matching tensors of nested tuples (a core state, or
    (y, state)), for p (B,) and batch-first values (B, ...): one fused op each (``addcmul``);
    with no totals yet (None, the first ponder step), p · values. p is viewed once per number
    of dimensions, since each view is an operation of its own in eager mode. p is exactly 0 for
    samples that have halted, so their continued computation adds nothing."""
    views: dict[int, Tensor] = {}

    def weighted(value: Tensor, total: Tensor | None = None) -> Tensor:
        if value.shape[0] != p.shape[0]:
            raise ValueError(
                f"ACT needs every state tensor of the wrapped core batch-first; got shape "
                f"{tuple(value.shape)} for a batch of {p.shape[0]}"
            )
        view = views.get(value.dim())
        if view is None:
            view = views[value.dim()] = p.view((-1,) + (1,) * (value.dim() - 1))
        return view * value if total is None else torch.addcmul(total, view, value)

    return tree_map(weighted, values) if totals is None else tree_map(weighted, values, totals)


def _halting(reached: Tensor, last: Tensor | bool) -> Tensor:
    """Which samples halt: those that ``reached`` the threshold, and all at n = M. ``last`` is a
    0-d boolean tensor in the compiled step (which then does not specialise on n) and a Python
    bool in eager mode (where a test against a tensor would cost an operation per step)."""
    if isinstance(last, Tensor):
        return reached | last
    return torch.ones_like(reached) if last else reached


def _with_first_step_flag(x: Tensor, first: bool) -> Tensor:
    """x (B, input_size) with the flag δ_{n,1} appended: (B, input_size + 1), in one operation."""
    return nn.functional.pad(x, (0, 1), value=1.0 if first else 0.0)


def _select(choose: Tensor, new: Tensor, old: Tensor) -> Tensor:
    return torch.where(choose.view((-1,) + (1,) * (new.dim() - 1)), new, old)


def truncated_geometric_log_prior(prior: float, steps: Tensor, n_max: int) -> Tensor:
    """log p_G(n) for n = 1..n_max, the Geometric(λ_p) prior truncated to each sample's
    ``steps`` (B,) and renormalised there; -inf beyond. Returns (B, n_max)."""
    n = torch.arange(1, n_max + 1, dtype=torch.float64, device=steps.device)
    if prior >= 1:
        log_g = torch.where(n == 1, 0.0, -math.inf).expand(steps.shape[0], -1)
        return log_g.to(torch.get_default_dtype())
    log_g = math.log(prior) + (n - 1) * math.log1p(-prior)
    log_norm = torch.log1p(-((1 - prior) ** steps.to(torch.float64)))
    log_g = log_g.unsqueeze(0) - log_norm.unsqueeze(1)
    return torch.where(n.unsqueeze(0) <= steps.unsqueeze(1), log_g, -math.inf).float()


class ACT(Core):
    """A core that ponders: ACT (or PonderNet) halting around any other core.

    core:        the wrapped core S; its ``input_size`` is this core's input size plus one (the
                 first-step flag δ_{n,1}); its output s_t^n feeds the halting unit and W_y.
    output_size: width of y_t.
    halting:     "act" (Graves 2016) or "pondernet" (Banino et al. 2021).
    tau:         τ, the weight of the ponder cost ρ_t in the loss (ACT).
    epsilon:     ε; ACT halts once Σh ≥ 1 − ε (paper: 0.01); PonderNet unrolls until Σp ≥ 1 − ε
                 (paper: 0.05).
    max_steps:   M, the most ponder steps per input step (ACT paper: 100).
    halting_bias: the initial b_h (ACT paper: 1).
    beta, prior: PonderNet's β (KL weight) and λ_p (the geometric prior's parameter).

    forward(x, state): x (B, input_size) -> y_t (B, output_size). Per input step it reports to the
    active step-term collector ``ponder_cost`` (ρ_t, weight τ, ACT), ``halting_kl`` (weight β,
    PonderNet) and ``ponder_steps`` (N(t), logged only); and to the Trace ``ponder_steps`` (B,),
    ``remainder`` (B,), ``halting_probabilities`` (B, M) (p_t^n, zero beyond N(t)) and whatever
    the wrapped core emits at each ponder step, as ``ponder_<name>`` stacked over ponder steps.
    """

    compiles_own_step: ClassVar[bool] = True
    # The ponder cost (and PonderNet's per-step outputs) are step terms recorded in the forward
    # pass, which gradient checkpointing runs without gradients.
    checkpointable: ClassVar[bool] = False
    checkpoint_refusal: ClassVar[str] = (
        "reports step terms (a ponder cost) in its forward pass, which gradient checkpointing "
        "would record without their gradients"
    )

    def __init__(
        self,
        core: Core,
        output_size: int,
        *,
        halting: str = "act",
        tau: float = 1e-3,
        epsilon: float = 0.01,
        max_steps: int = 100,
        halting_bias: float = 1.0,
        beta: float = 0.01,
        prior: float = 0.2,
    ):
        super().__init__()
        _check_core(core)
        check_integers("ACT", output_size=output_size, max_steps=max_steps)
        check_halting_settings(halting, tau, epsilon, max_steps, beta, prior)
        if output_size < 1:
            raise ValueError(f"output_size must be >= 1, got {output_size}")
        self.core = core
        self.input_size = core.input_size - 1
        self.output_size = output_size
        self.halting = halting
        self.tau = tau
        self.epsilon = epsilon
        self.max_steps = max_steps
        self.beta = beta
        self.prior = prior
        self.output_layer = nn.Linear(core.output_size, output_size)
        self.halting_layer = nn.Linear(core.output_size, 1)
        nn.init.constant_(self.halting_layer.bias, halting_bias)
        # Whether n = M, as tensors so that the compiled step does not specialise on it; buffers,
        # so that they follow the module to its device without an operation per forward.
        self.register_buffer("_not_last_step", torch.tensor(False), persistent=False)
        self.register_buffer("_last_step", torch.tensor(True), persistent=False)

    def initial_state(self, batch_size, device=None, dtype=None) -> ACTState:
        return ACTState(self.core.initial_state(batch_size, device, dtype))

    def _ponder_inputs(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The core's inputs at the first ponder step and at the others."""
        return _with_first_step_flag(x, True), _with_first_step_flag(x, False)

    def _readout(self) -> tuple[Tensor, Tensor]:
        """W_y and W_h stacked, with their biases, so that y_t^n and h_t^n take one matrix
        product: weight (output_size + 1, core.output_size), bias (output_size + 1,)."""
        weight = torch.cat([self.output_layer.weight, self.halting_layer.weight])
        return weight, torch.cat([self.output_layer.bias, self.halting_layer.bias])

    def _ponder_step(
        self, x_n: Tensor, s: Any, readout: tuple[Tensor, Tensor], trace: Trace | None
    ) -> tuple[Tensor, Any, Tensor]:
        """One application of S: returns y_t^n (B, output_size), s_t^n and h_t^n (B,)."""
        if trace is None:
            features, s = self.core(x_n, s)
        else:
            with tracing(trace):
                features, s = self.core(x_n, s)
            trace.next_step()
        out = nn.functional.linear(features, *readout)
        return out[:, :-1], s, torch.sigmoid(out[:, -1])

    def compile_step(self, direct: bool = True, **compile_kwargs) -> None:
        """Run untraced training steps through ``torch.compile``: one ponder step (the input
        with its first-step flag, the wrapped core, the output and halting units, the halting
        bookkeeping and the mean-field sums) as one graph (``fullgraph=True``), reused for every
        ponder step. The loop over ponder steps stays in Python, since its length depends on the
        data; the first step, whose flag and sums start from constants, compiles a variant of
        its own. Traced calls and PonderNet's sampled evaluation run eagerly. The compiled
        function is kept outside the module's children, so ``state_dict`` is unchanged. With
        ``direct`` (the default), training calls the compiled kernels directly
        (:class:`augrnn.compiled_step.DirectStep`)."""
        compile_kwargs.setdefault("fullgraph", True)
        compiled = compile_fresh(self._flagged_update, self, **compile_kwargs)
        update = with_direct_calls(self._flagged_update, self, compiled, compile_kwargs, direct)
        object.__setattr__(self, "_compiled_update", update)
        object.__setattr__(self, "_compiled_device", device_type(self))

    def forward(self, x: Tensor, state: ACTState) -> tuple[Tensor, ACTState]:
        self.check_input(x)
        if self.halting == "pondernet" and not self.training:
            return self._sampled_halting(x, state)
        inner_trace = Trace() if is_tracing() else None
        compiled = None if inner_trace is not None else getattr(self, "_compiled_update", None)
        if compiled is not None:
            check_compiled_device(self, self._compiled_device, x)
        if compiled is None:
            first, rest = self._ponder_inputs(x)
            readout = self._readout()
        # The bookkeeping starts inside the first ponder step (see _first_update).
        if compiled is None:
            loop = _PonderLoop(state.core, None, None, None, None, None, None, None)
        else:
            loop = _PackedLoop(state.core, None, None, None)
        probabilities, ponder_logits = [], []
        # p_t^n are needed by PonderNet's loss and the trace, y_t^n by PonderNet's loss only.
        keep_probabilities = self.halting == "pondernet" or inner_trace is not None
        for n in range(1, self.max_steps + 1):
            if compiled is not None:
                last = self._last_step if n == self.max_steps else self._not_last_step
                loop, p, y, any_running = compiled(x, n == 1, loop, last, keep_probabilities)
            else:
                x_n = first if n == 1 else rest
                last = n == self.max_steps
                loop, p, y = self._ponder_update(x_n, loop, readout, last, inner_trace)
                any_running = loop.running.any()
            if keep_probabilities:
                probabilities.append(p)
            if self.halting == "pondernet":
                ponder_logits.append(y)
            if not any_running:
                break
        probs = torch.stack(probabilities, dim=1) if probabilities else None  # (B, n_max)
        logits = torch.stack(ponder_logits, dim=1) if ponder_logits else None
        if compiled is None:
            steps, remainder = loop.steps, loop.remainder
            cost = steps + remainder if self.halting == "act" else None
        else:
            steps, remainder = loop.ledger[:, 2], None
            cost = loop.ledger[:, 3] if self.halting == "act" else None
        self._report(steps, cost, remainder, probs, logits, inner_trace)
        return loop.output, ACTState(loop.mean_state)

    def _flagged_update(
        self, x: Tensor, first: bool, packed: _PackedLoop, last: Tensor, keep: bool
    ) -> tuple[_PackedLoop, Tensor | None, Tensor | None, Tensor]:
        """:meth:`_ponder_update` from the input x (B, input_size) itself, on the packed loop
        state: the step that :meth:`compile_step` compiles. Returns the new packed loop state,
        p_t^n and y_t^n (None unless ``keep``) and whether any sample still runs (0-d bool).

        Whatever can be is made inside the graph, where it costs no call of its own: the
        first-step flag, the read-out's stacked weights, the first step's bookkeeping (the two
        values of ``first`` compile a variant each), packing the ledger, ρ_t and the test for
        samples still running. Outputs nobody reads (p and y, unless ``keep``) are left out,
        since every output of the graph costs time per call."""
        x_n = _with_first_step_flag(x, first)
        new_loop, p, y = self._ponder_update(x_n, self._unpack(packed), self._readout(), last, None)
        any_running = new_loop.running.any()
        new_packed = self._pack(new_loop)
        return (new_packed, p, y, any_running) if keep else (new_packed, None, None, any_running)

    def _pack(self, loop: _PonderLoop) -> _PackedLoop:
        act = self.halting == "act"
        fourth = loop.steps + loop.remainder if act else loop.not_halted
        ledger = torch.stack([loop.running, loop.halting_sum, loop.steps, fourth], dim=1)
        return _PackedLoop(loop.core_state, ledger, loop.output, loop.mean_state)

    def _unpack(self, packed: _PackedLoop) -> _PonderLoop:
        if packed.ledger is None:
            return _PonderLoop(packed.core_state, None, None, None, None, None, None, None)
        running, halting_sum, steps, fourth = packed.ledger.unbind(1)
        if self.halting == "act":
            # ρ − N gives R back exactly: R is nonzero only once a sample has halted, when N
            # stops growing, and ρ = fl(N + R) with N >= 1 makes fl(ρ − N) exact (Sterbenz).
            not_halted, remainder = None, fourth - steps
        else:
            not_halted, remainder = fourth, torch.zeros_like(fourth)
        return _PonderLoop(
            packed.core_state,
            running,
            halting_sum,
            not_halted,
            steps,
            remainder,
            packed.output,
            packed.mean_state,
        )

    def _ponder_update(
        self,
        x_n: Tensor,
        loop: _PonderLoop,
        readout: tuple[Tensor, Tensor],
        last: Tensor | bool,
        trace: Trace | None,
    ) -> tuple[_PonderLoop, Tensor, Tensor]:
        """Ponder step n: apply S, then update the halting sums, N(t), R(t), y_t and s_t.

        Returns the new loop state, p_t^n (B,) (zero for samples halted before n) and y_t^n
        (B, output_size). ``readout``: :meth:`_readout`; ``last``: whether n = M (see
        :func:`_halting`).
        """
        y, s, h = self._ponder_step(x_n, loop.core_state, readout, trace)
        if loop.running is None:
            return self._first_update(y, s, h, last)
        running, halting_sum, not_halted = loop.running, loop.halting_sum, loop.not_halted
        remainder = loop.remainder
        # After a sample halts its halting_sum means nothing: its p is 0 whatever it holds.
        if self.halting == "act":
            cumulative = halting_sum + h
            halts = _halting(cumulative >= 1 - self.epsilon, last)
            p = torch.where(halts, 1 - halting_sum, h) * running
            halting_now = halts * running
            # R(t) is the p of the step at which a sample halts.
            remainder = torch.addcmul(remainder, halting_now, p)
            halting_sum = cumulative
        else:
            p_if_continuing = h * not_halted
            halts = _halting(halting_sum + p_if_continuing >= 1 - self.epsilon, last)
            # λ = 1 at a sample's last step: all the mass left goes there.
            p = torch.where(halts, not_halted, p_if_continuing) * running
            halting_now = halts * running
            not_halted = not_halted * (1 - h)
            halting_sum = halting_sum + p
        # N(t): a sample still running at step n has taken n steps.
        steps = loop.steps + running
        output, mean_state = _accumulate((loop.output, loop.mean_state), p, (y, s))
        new_loop = _PonderLoop(
            core_state=s,
            running=running - halting_now,
            halting_sum=halting_sum,
            not_halted=not_halted,
            steps=steps,
            remainder=remainder,
            output=output,
            mean_state=mean_state,
        )
        return new_loop, p, y

    def _first_update(
        self, y: Tensor, s: Any, h: Tensor, last: Tensor | bool
    ) -> tuple[_PonderLoop, Tensor, Tensor]:
        """:meth:`_ponder_update`'s bookkeeping at ponder step 1, where every sample runs and
        every sum is 0, with those constants folded in: the same values and gradients in about
        half the operations (which the eager step pays for one by one)."""
        halts = _halting(h >= 1 - self.epsilon, last)
        # ACT: R(t) = 1 − 0 for a sample halting here; PonderNet: all the mass left, 1.
        p = torch.where(halts, 1.0, h)
        output, mean_state = _accumulate(None, p, (y, s))
        act = self.halting == "act"
        loop = _PonderLoop(
            core_state=s,
            running=(~halts).to(h.dtype),
            halting_sum=h if act else p,
            not_halted=None if act else 1 - h,
            steps=torch.ones_like(h),
            remainder=torch.where(halts, p, 0.0) if act else torch.zeros_like(h),
            output=output,
            mean_state=mean_state,
        )
        return loop, p, y

    def _report(
        self,
        steps: Tensor,
        cost: Tensor | None,
        remainder: Tensor | None,
        probs: Tensor | None,
        ponder_logits: Tensor | None,
        inner_trace: Trace | None,
    ) -> None:
        """Report the step terms and the trace: N(t) ``steps`` and ρ_t ``cost`` (ACT; None with
        PonderNet) (B,). ``remainder`` R(t) (B,), ``probs`` (B, n_max) and ``ponder_logits``
        (B, n_max, output_size) are None where nothing reads them: ``remainder`` and ``probs``
        without a trace (``probs`` is kept with PonderNet), ``ponder_logits`` without
        PonderNet."""
        if self.halting == "act":
            add_step_term("ponder_cost", cost, self.tau)
        elif is_collecting_step_terms():
            log_prior = truncated_geometric_log_prior(self.prior, steps, probs.shape[1])
            # Where p = 0 the term is 0, and its gradient too: a finite stand-in for the −∞
            # prior beyond N keeps 0 · ∞ out of the backward pass.
            used = probs > 0
            log_ratio = torch.log(probs.clamp_min(1e-30)) - torch.where(used, log_prior, 0.0)
            kl = torch.where(used, probs * log_ratio, 0.0).sum(1)
            add_step_term("halting_kl", kl, self.beta)
            add_step_extra("ponder_logits", ponder_logits)
            add_step_extra("halting_probabilities", probs)
        add_step_term("ponder_steps", steps.detach())
        if inner_trace is not None:
            self._emit_trace(steps, remainder, probs, inner_trace)

    def _emit_trace(
        self, steps: Tensor, remainder: Tensor, probs: Tensor, inner_trace: Trace
    ) -> None:
        padded = probs.new_zeros(probs.shape[0], self.max_steps)
        padded[:, : probs.shape[1]] = probs
        emit("ponder_steps", steps)
        emit("remainder", remainder)
        emit("halting_probabilities", padded)
        inner_trace.finish()
        for name in inner_trace.names:
            emit(f"ponder_{name}", inner_trace.stack(name))

    @torch.no_grad()
    def _sampled_halting(self, x: Tensor, state: ACTState) -> tuple[Tensor, ACTState]:
        """PonderNet at evaluation: halt at step n with probability λ_n (λ_M = 1); the output and
        state are those of the sampled step."""
        first, rest = self._ponder_inputs(x)
        batch = x.shape[0]
        inner_trace = Trace() if is_tracing() else None
        s = state.core
        running = torch.ones(batch, dtype=torch.bool, device=x.device)
        steps = x.new_zeros(batch)
        output = x.new_zeros(batch, self.output_size)
        chosen_state = s
        readout = self._readout()
        probabilities, ponder_logits = [], []
        for n in range(1, self.max_steps + 1):
            y, s, h = self._ponder_step(first if n == 1 else rest, s, readout, inner_trace)
            if n == self.max_steps:
                h = torch.ones_like(h)
            halts = running & (torch.rand_like(h) < h)
            steps = torch.where(halts, float(n), steps)
            output = _select(halts, y, output)
            chosen_state = tree_map(lambda new, old, c=halts: _select(c, new, old), s, chosen_state)
            probabilities.append(halts.to(x.dtype))
            ponder_logits.append(y)
            running = running & ~halts
            if not running.any():
                break
        add_step_term("ponder_steps", steps)
        if inner_trace is not None:
            self._emit_trace(steps, x.new_zeros(batch), torch.stack(probabilities, 1), inner_trace)
        return output, ACTState(chosen_state)

    def sequence_loss(self, task, batch, logits: Tensor, terms) -> tuple[Tensor, Tensor]:
        """The training loss over a sequence and its task part (both scalars).

        ACT: L(y, ŷ) + τ Σ_t ρ_t. PonderNet: Σ_t Σ_n p_t^n L(y_t, ŷ_t^n) + β Σ_t KL_t, with
        ŷ_t^n each ponder step's output; steps are counted where ``batch.steps_mask()`` is 1.
        """
        steps_mask = batch.steps_mask()
        if self.halting == "act" or not self.training:
            task_loss = task.loss(logits, batch)
            return task_loss + terms.weighted_total(steps_mask), task_loss
        per_t_logits = terms.extras["ponder_logits"]  # T x (B, n_t, K)
        per_t_probs = terms.extras["halting_probabilities"]  # T x (B, n_t)
        n_max = max(p.shape[1] for p in per_t_probs)
        ponder_logits = torch.stack(
            [nn.functional.pad(y, (0, 0, 0, n_max - y.shape[1])) for y in per_t_logits]
        )  # (T, B, n_max, K)
        probs = torch.stack([nn.functional.pad(p, (0, n_max - p.shape[1])) for p in per_t_probs])
        time, size, _, width = ponder_logits.shape
        flat = ponder_logits.permute(0, 2, 1, 3).reshape(time, n_max * size, width)
        per_step = task.loss_per_step(flat, batch.repeat(n_max)).reshape(time, n_max, size)
        expected = (per_step.permute(0, 2, 1) * probs).sum((0, 2)).mean()
        return expected + terms.weighted_total(steps_mask), expected


@dataclass
class ACTConfig(ModelConfig):
    """ACT or PonderNet around any core (model kind ``act``): ``core`` is the wrapped core's
    config (``[model.core]`` in a preset, with a ``kind`` of its own: an LSTM, GRU or RNN stack,
    an NTM, ...), whose input gains the first-step flag and whose features (the stack's hidden
    vector, the NTM's read-out of ``controller_size`` features) feed the halting unit and the
    output layer. The defaults are the ACT paper's, except τ, which each task's preset sets."""

    core: ModelConfig | None = core_field()
    #: "act" (Graves 2016) or "pondernet" (Banino et al. 2021).
    halting: str = "act"
    #: τ, the weight of the ponder cost (ACT).
    tau: float = 1e-3
    #: ε: ACT halts once Σh ≥ 1 − ε (0.01); PonderNet unrolls until Σp ≥ 1 − ε (paper: 0.05).
    epsilon: float = 0.01
    #: M, the most ponder steps per input step.
    max_steps: int = 100
    #: Initial bias b_h of the halting unit.
    halting_bias: float = 1.0
    #: PonderNet's KL weight β and geometric prior λ_p.
    beta: float = 0.01
    prior: float = 0.2

    RANGES: ClassVar[dict[str, Range]] = {
        "tau": at_least(0),
        "epsilon": between(0, 1, low_inclusive=False, high_inclusive=False),
        "max_steps": at_least(1),
        "halting_bias": ANY,
        "beta": at_least(0),
        "prior": between(0, 1, low_inclusive=False),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.core is None:
            raise ValueError(
                "ACT needs the core it wraps: a [model.core] table with its kind, e.g. "
                'kind = "lstm" (or --model.core.kind=lstm)'
            )
        check_halting_settings(
            self.halting, self.tau, self.epsilon, self.max_steps, self.beta, self.prior
        )

    def summary(self, kind: str) -> str:
        return f"{describe_model(self.core)} + {self.halting}"


def build_act(config: ACTConfig, input_size: int, output_size: int | None) -> ACT:
    """ACT around ``config.core``, built for the input plus the first-step flag and giving its
    own features; ``output_size`` None (ACT nested in another wrapper) keeps their width."""
    inner = build_core(config.core, input_size + 1, None)
    return ACT(
        inner,
        inner.output_size if output_size is None else output_size,
        halting=config.halting,
        tau=config.tau,
        epsilon=config.epsilon,
        max_steps=config.max_steps,
        halting_bias=config.halting_bias,
        beta=config.beta,
        prior=config.prior,
    )


MODEL_KINDS = {
    "act": ModelKind(
        ACTConfig,
        build_core=build_act,
        description="Adaptive Computation Time or PonderNet around any core",
    )
}
