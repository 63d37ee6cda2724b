"""Generating a target sequence from a decoder step: greedy search and beam search.

Both drive a *step function*

    logits, weights, state = step(previous_tokens, state)

with previous_tokens (N,) long, logits (N, V), attention weights (N, S) and a state whose tensors
have N rows, and know nothing else about the model. Every hypothesis keeps the attention weights
of each step it took, so a decoded sequence comes back with one (T_i, S) row per token.

Scores. The log-probability of a hypothesis Y is log P(Y) = Σ_t log p(y_t | y_<t, x), over its
tokens including EOS. Hypotheses are ranked by the length-normalised score of Wu et al. (2016,
GNMT, eq 14) without its coverage term: s(Y) = log P(Y) / lp(Y), lp(Y) = ((5 + |Y|) / 6)^α.
α = 0 ranks by the raw log-probability, which favours short outputs; GNMT used α ≈ 0.6-0.7.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor

#: logits (N, V), weights (N, S), state = step(previous tokens (N,), state)
StepFunction = Callable[[Tensor, Any], tuple[Tensor, Tensor, Any]]
#: The state's rows at ``index`` (K,): the states of the hypotheses that survive a beam step.
SelectFunction = Callable[[Any, Tensor], Any]


class Hypothesis(NamedTuple):
    """One decoded sequence.

    tokens:    the token ids, ending with EOS unless ``max_length`` cut the sequence short.
    attention: (len(tokens), S) the attention weights of every step.
    log_prob:  log P(tokens), in nats.
    score:     log_prob / lp(len(tokens)), the length-normalised score that ranks hypotheses.
    """

    tokens: list[int]
    attention: Tensor
    log_prob: float
    score: float


def length_penalty(length: int, alpha: float) -> float:
    """lp(Y) = ((5 + |Y|) / 6)^α (Wu et al. 2016, eq 14); 1 for α = 0."""
    return ((5.0 + length) / 6.0) ** alpha


def _hypothesis(tokens: Tensor, attention: Tensor, log_prob: float, alpha: float) -> Hypothesis:
    length = tokens.shape[0]
    return Hypothesis(
        tokens.tolist(), attention, log_prob, log_prob / length_penalty(length, alpha)
    )


def _check(max_length: int, alpha: float) -> None:
    if max_length < 1:
        raise ValueError(f"max_length must be >= 1, got {max_length}")
    if alpha < 0:
        raise ValueError(f"the length normalisation alpha must be >= 0, got {alpha}")


def greedy_search(
    step: StepFunction,
    state: Any,
    batch_size: int,
    max_length: int,
    *,
    bos: int,
    eos: int,
    alpha: float = 0.0,
    device: torch.device | str | None = None,
) -> list[Hypothesis]:
    """Feed back the most likely token until every sequence has produced ``eos`` or
    ``max_length`` tokens. Returns one :class:`Hypothesis` per sequence, cut after its first EOS;
    ``alpha`` only sets the reported scores."""
    _check(max_length, alpha)
    previous = torch.full((batch_size,), bos, dtype=torch.long, device=device)
    done = torch.zeros(batch_size, dtype=torch.bool, device=device)
    tokens, weights, log_probs = [], [], []
    for _ in range(max_length):
        logits, w, state = step(previous, state)
        log_p = torch.log_softmax(logits, dim=-1)
        previous = log_p.argmax(-1)
        tokens.append(previous)
        weights.append(w)
        log_probs.append(log_p.gather(1, previous.unsqueeze(1)).squeeze(1))
        done = done | (previous == eos)
        if bool(done.all()):
            break
    all_tokens, all_weights = torch.stack(tokens, 1), torch.stack(weights, 1)  # (B, T), (B, T, S)
    all_log_probs = torch.stack(log_probs, 1)  # (B, T)
    hypotheses = []
    for b in range(batch_size):
        ends = (all_tokens[b] == eos).nonzero()
        length = int(ends[0]) + 1 if len(ends) else all_tokens.shape[1]
        log_prob = float(all_log_probs[b, :length].sum())
        hypotheses.append(
            _hypothesis(all_tokens[b, :length], all_weights[b, :length], log_prob, alpha)
        )
    return hypotheses


def beam_search(
    step: StepFunction,
    state: Any,
    select: SelectFunction,
    beam_size: int,
    max_length: int,
    *,
    bos: int,
    eos: int,
    alpha: float = 0.0,
    device: torch.device | str | None = None,
) -> Hypothesis:
    """Beam search for one sequence (``state`` has one row); returns the best hypothesis by the
    length-normalised score.

    Each step extends every live hypothesis by every token and keeps the ``beam_size − F`` best
    extensions by log-probability, F being the number already finished; an extension ending in
    EOS is finished. The search stops when no hypothesis is live or after ``max_length`` tokens,
    when the live ones join the finished ones. With ``beam_size = 1`` it is greedy search.
    """
    _check(max_length, alpha)
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    previous = torch.full((1,), bos, dtype=torch.long, device=device)
    live_log_probs = torch.zeros(1, dtype=torch.float64, device=device)
    live_tokens = torch.zeros(1, 0, dtype=torch.long, device=device)
    live_weights: Tensor | None = None  # (K, t, S)
    finished: list[Hypothesis] = []
    for _ in range(max_length):
        logits, w, state = step(previous, state)
        vocabulary = logits.shape[-1]
        totals = live_log_probs.unsqueeze(1) + torch.log_softmax(logits.to(torch.float64), -1)
        width = min(beam_size - len(finished), totals.numel())
        best, flat = totals.flatten().topk(width)
        origin, token = flat // vocabulary, flat % vocabulary
        tokens = torch.cat([live_tokens[origin], token.unsqueeze(1)], 1)
        step_weights = w[origin].unsqueeze(1)
        weights = (
            step_weights
            if live_weights is None
            else torch.cat([live_weights[origin], step_weights], 1)
        )
        ended = token == eos
        for i in ended.nonzero().flatten().tolist():
            finished.append(_hypothesis(tokens[i], weights[i], float(best[i]), alpha))
        keep = (~ended).nonzero().flatten()
        if len(keep) == 0:
            break
        live_log_probs, live_tokens, live_weights = best[keep], tokens[keep], weights[keep]
        state = select(state, origin[keep])
        previous = token[keep]
    else:
        for i in range(live_tokens.shape[0]):
            finished.append(
                _hypothesis(live_tokens[i], live_weights[i], float(live_log_probs[i]), alpha)
            )
    return max(finished, key=lambda h: h.score)
