"""An encoder-decoder with attention (Bahdanau, Cho & Bengio 2014; Luong, Pham & Manning 2015).

Data (time-major, as :mod:`augrnn.tasks.text` makes it): the source is (S, B) long token ids
padded with PAD = 0, with a (S, B) mask that is 1 on the real tokens (a prefix of each column);
the targets are (T, B) long ids ending with EOS = 2, padded with PAD. The decoder starts from
BOS = 1. Every vocabulary starts with these three ids.

Encoder: embeddings, then a bidirectional GRU or LSTM run on packed sequences, so padding never
enters a state. Each direction has ``hidden_size / 2`` units and the annotation of a source
position is h_j = [→h_j; ←h_j] (``hidden_size`` wide), the width of the decoder's state, so dot
scores need no projection. The decoder starts from s_0 = tanh(W_s [→h_S; ←h_1]) (Bahdanau's
initial state, here from both directions' final states); an LSTM decoder's cell starts from the
final cells [→c_S; ←c_1].

Decoder schemes (``attention``):

- ``"bahdanau"``: the previous state is the query, c_i = attend(s_{i−1}); the context is fed into
  the cell, s_i = cell([E y_{i−1}; c_i], s_{i−1}); a deep output
  logits_i = W_o tanh(W_t [s_i; c_i; E y_{i−1}]) (Bahdanau's maxout read-out made a tanh layer).
- ``"luong_dot"``, ``"luong_general"``, ``"luong_concat"``: the current state is the query,
  h_t = cell([E y_{t−1}; h̃_{t−1}], h_{t−1}) with input feeding (h̃_0 = 0), c_t = attend(h_t),
  the attentional hidden state h̃_t = tanh(W_c [c_t; h_t]) and logits_t = W_s h̃_t.
  ``local_window = D`` makes the attention local-p (see :class:`LuongAttention`).
- ``"location"``: ``"bahdanau"`` with Chorowski et al.'s (2015) location-aware score, which
  also sees convolutional features of the previous alignment α_{i−1}
  (:class:`~augrnn.attention.modules.LocationAwareAttention`; α_0 is one-hot on the first
  source position), so that the focus can move along the source by position as well as by
  content.
- ``"scaled_dot"``: Luong's scheme with the scaled dot score qᵀk/√H.
- ``"none"``: the baseline without attention, built like ``"bahdanau"`` with the same sizes, whose
  context is the same at every step: the encoder's final state [→h_S; ←h_1]
  (``no_attention_context = "final"``, Cho et al. 2014) or the mean of the annotations
  (``"mean"``). Its reported weights are uniform over the source for "mean" and 0 for "final"
  (that context is not a weighted sum of annotations).

Any registered recurrent core (a DNC, an NTM, ...) can stand in for either recurrent unit:
``encoder_core`` reads the embedded source left to right instead of the bidirectional RNN (its
output at each position, ``hidden_size`` wide, is the annotation h_j; at a sequence's last real
token, the input of s_0), and ``decoder_core`` is the decoder's unit, its output the decoder's
state s_i (h_t), in either scheme.

Registered as the model kind ``seq2seq`` (:class:`Seq2SeqConfig`); its package adds the
command ``augrnn predict``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from augrnn.attention.decoding import Hypothesis, beam_search, greedy_search
from augrnn.attention.modules import (
    AdditiveAttention,
    LocationAwareAttention,
    LuongAttention,
    ScaledDotAttention,
)
from augrnn.core import Core, Trace, emit, tracing, tree_map, untraced
from augrnn.interface import EvaluationContext, Model, ModelConfig, ModelKind, core_field
from augrnn.registry import build_core, describe_model
from augrnn.settings import Range, at_least, between, check_integers

PAD, BOS, EOS = 0, 1, 2
#: PAD, BOS and EOS: every vocabulary holds at least these.
SPECIAL_TOKENS = 3

ATTENTION_KINDS = (
    "bahdanau",
    "location",
    "luong_dot",
    "luong_general",
    "luong_concat",
    "scaled_dot",
    "none",
)
ENCODER_KINDS = ("gru", "lstm")
NO_ATTENTION_CONTEXTS = ("final", "mean")


class EncoderOutput(NamedTuple):
    """What the decoder attends to.

    states:  (B, S, H) annotations h_j (0 on padding).
    keys:    (B, S, ·) the attention's query-independent key projection of the states.
    mask:    (B, S) bool, true on real source positions.
    context: (B, H) the fixed context of the no-attention baseline (None with attention).
    context_weights: (B, S) the weights reported for that context (None with attention).
    """

    states: Tensor
    keys: Tensor | None
    mask: Tensor
    context: Tensor | None
    context_weights: Tensor | None


class DecoderState(NamedTuple):
    """h: (B, H) the decoder's state s_i (h_t); c: (B, H) its LSTM cell (None for a GRU or a
    core); feed: (B, H) the attentional hidden state h̃_{t−1} fed to the next input (Luong
    schemes; None otherwise); core: the state of a ``decoder_core`` (None otherwise);
    alignment: (B, S) the previous step's attention weights α_{i−1} (``"location"`` only;
    None otherwise)."""

    h: Tensor
    c: Tensor | None
    feed: Tensor | None
    core: Any = None
    alignment: Tensor | None = None


def _rows(value: NamedTuple, index: Tensor) -> NamedTuple:
    """The rows ``index`` of every tensor of a NamedTuple, nested core states included (None
    stays None); indexing copies, so a core that updates its state in place keeps each
    hypothesis apart."""
    return type(value)(*(tree_map(lambda t: t[index], part) for part in value))


class Decoding(NamedTuple):
    """Decoded sequences, one entry per source sequence.

    tokens:    token ids, ending with EOS unless ``max_length`` cut them short.
    attention: (len(tokens), S_b) attention weights of every step over the sequence's own
               S_b real source positions.
    log_probs: log P(tokens | source), in nats.
    scores:    the length-normalised scores that ranked the hypotheses (see
               :mod:`augrnn.attention.decoding`).
    """

    tokens: list[list[int]]
    attention: list[Tensor]
    log_probs: list[float]
    scores: list[float]


class Seq2Seq(Model):
    """An attentional encoder-decoder over token ids (see the module docstring).

    ``logits, attention = model(source, source_mask, targets)`` gives (T, B, V) logits and the
    (T, B, S) attention weights of every step. In training the decoder is fed the true previous
    token with probability ``teacher_forcing`` (independently per sequence and step) and its own
    most likely token otherwise; in evaluation mode it always feeds its own predictions.

    As a :class:`~augrnn.interface.Model` it reads a text task's batch (source ids, mask and
    target ids) and adds ``decoded_exact_match`` to the held-out metrics.
    """

    decodes: ClassVar[bool] = True

    def __init__(
        self,
        source_vocab_size: int,
        target_vocab_size: int,
        *,
        embedding_size: int = 64,
        hidden_size: int = 128,
        encoder: str = "gru",
        attention: str = "bahdanau",
        no_attention_context: str = "final",
        local_window: int | None = None,
        location_channels: int = 10,
        location_kernel: int = 31,
        teacher_forcing: float = 1.0,
        encoder_core: Core | None = None,
        decoder_core: Core | None = None,
    ):
        super().__init__()
        for name, size in (("source", source_vocab_size), ("target", target_vocab_size)):
            if size < SPECIAL_TOKENS + 1:
                raise ValueError(
                    f"the {name} vocabulary needs PAD, BOS, EOS and at least one symbol "
                    f"({SPECIAL_TOKENS + 1} ids), got {size}"
                )
        check_integers("Seq2Seq", embedding_size=embedding_size, hidden_size=hidden_size)
        if embedding_size < 1:
            raise ValueError(f"embedding_size must be positive, got {embedding_size}")
        if hidden_size < 2 or hidden_size % 2:
            raise ValueError(
                "hidden_size must be a positive even number (each encoder direction gets half), "
                f"got {hidden_size}"
            )
        if encoder not in ENCODER_KINDS:
            raise ValueError(f"encoder must be one of {ENCODER_KINDS}, got {encoder!r}")
        if attention not in ATTENTION_KINDS:
            raise ValueError(f"attention must be one of {ATTENTION_KINDS}, got {attention!r}")
        if no_attention_context not in NO_ATTENTION_CONTEXTS:
            raise ValueError(
                f"no_attention_context must be one of {NO_ATTENTION_CONTEXTS}, "
                f"got {no_attention_context!r}"
            )
        if local_window is not None and not attention.startswith("luong_"):
            raise ValueError(
                f"local_window (Luong's local-p attention) needs a luong_* attention, got "
                f"attention={attention!r}"
            )
        if not 0.0 <= teacher_forcing <= 1.0:
            raise ValueError(f"teacher_forcing must be in [0, 1], got {teacher_forcing}")
        for name, core, width in (
            ("encoder_core", encoder_core, embedding_size),
            ("decoder_core", decoder_core, embedding_size + hidden_size),
        ):
            if core is not None and (core.input_size, core.output_size) != (width, hidden_size):
                raise ValueError(
                    f"{name} must read {width} features and give hidden_size = {hidden_size}, "
                    f"got a core of {core.input_size} -> {core.output_size}"
                )
        self.source_vocab_size = source_vocab_size
        self.target_vocab_size = target_vocab_size
        self.hidden_size = hidden_size
        self.encoder_kind = encoder
        self.attention_kind = attention
        self.no_attention_context = no_attention_context
        self.teacher_forcing = teacher_forcing
        self.luong = attention.startswith("luong_") or attention == "scaled_dot"
        h, e = hidden_size, embedding_size

        self.source_embedding = nn.Embedding(source_vocab_size, e, padding_idx=PAD)
        self.target_embedding = nn.Embedding(target_vocab_size, e, padding_idx=PAD)
        rnn = nn.GRU if encoder == "gru" else nn.LSTM
        self.encoder_core = encoder_core
        self.encoder = rnn(e, h // 2, bidirectional=True) if encoder_core is None else None
        self.bridge = nn.Linear(h, h)  # W_s: s_0 = tanh(W_s [→h_S; ←h_1])
        cell = nn.GRUCell if encoder == "gru" else nn.LSTMCell
        self.decoder_core = decoder_core
        self.cell = cell(e + h, h) if decoder_core is None else None
        self.attention: nn.Module | None
        if attention == "bahdanau":
            self.attention = AdditiveAttention(h, h, h)
        elif attention == "location":
            self.attention = LocationAwareAttention(h, h, h, location_channels, location_kernel)
        elif attention == "scaled_dot":
            self.attention = ScaledDotAttention(h, h)
        elif attention == "none":
            self.attention = None
        else:
            score = attention.removeprefix("luong_")
            self.attention = LuongAttention(h, h, score, local_window=local_window)
        if self.luong:
            self.combine = nn.Linear(2 * h, h, bias=False)  # W_c: h̃_t = tanh(W_c [c_t; h_t])
            self.output = nn.Linear(h, target_vocab_size)  # W_s
        else:
            self.deep_output = nn.Linear(2 * h + e, h)  # W_t
            self.output = nn.Linear(h, target_vocab_size)  # W_o

    # --- checks -----------------------------------------------------------------------------

    def check_source(self, source: Tensor, source_mask: Tensor | None) -> Tensor:
        """Raise ``ValueError`` unless the source and its mask fit; return the (S, B) bool mask.

        A mask of None marks the non-PAD ids as real.
        """
        if not isinstance(source, Tensor) or source.dtype != torch.long or source.dim() != 2:
            raise ValueError(
                "Seq2Seq expects the source as a (source length, batch) long tensor of token ids, "
                f"got {describe_value(source)}"
            )
        if source.shape[0] < 1 or source.shape[1] < 1:
            raise ValueError(f"the source is empty: shape {tuple(source.shape)}")
        _check_ids(source, self.source_vocab_size, "source")
        if source_mask is None:
            mask = source != PAD
        else:
            if not isinstance(source_mask, Tensor) or source_mask.shape != source.shape:
                raise ValueError(
                    f"the source mask must have the source's shape (source length, batch) = "
                    f"{tuple(source.shape)}, got {describe_value(source_mask)}"
                )
            mask = source_mask if source_mask.dtype == torch.bool else source_mask != 0
        lengths = mask.sum(0)
        empty = (lengths == 0).nonzero().flatten().tolist()
        if empty:
            raise ValueError(
                f"source sequences {empty} have length 0; every sequence needs at least one token"
            )
        prefix = torch.arange(mask.shape[0], device=mask.device).unsqueeze(1) < lengths
        if not torch.equal(prefix, mask):
            raise ValueError(
                "the source mask must be 1 on a prefix of each column (real tokens first, "
                "padding at the end)"
            )
        return mask

    def check_targets(self, targets: Tensor, batch_size: int) -> None:
        check_target_ids(targets, batch_size, self.target_vocab_size, "Seq2Seq")

    # --- encoder and one decoder step -------------------------------------------------------

    def encode(self, source: Tensor, mask: Tensor) -> tuple[EncoderOutput, DecoderState]:
        """Encode a checked (S, B) source with its (S, B) bool mask: the memory the decoder
        attends to and the decoder's initial state."""
        lengths = mask.sum(0)
        batch_mask = mask.transpose(0, 1)
        if self.encoder_core is not None:
            states, last = self._encode_with_core(self.source_embedding(source), mask, lengths)
            c_n = None
        else:
            packed = pack_padded_sequence(
                self.source_embedding(source), lengths.cpu(), enforce_sorted=False
            )
            out, final = self.encoder(packed)
            states, _ = pad_packed_sequence(out, total_length=source.shape[0])
            states = states.transpose(0, 1)  # (B, S, H)
            h_n, c_n = final if self.encoder_kind == "lstm" else (final, None)
            last = torch.cat([h_n[0], h_n[1]], dim=-1)  # [→h_S; ←h_1], (B, H)
        h0 = torch.tanh(self.bridge(last))
        if c_n is not None:
            c0 = torch.cat([c_n[0], c_n[1]], dim=-1)
        elif self.decoder_core is None and self.encoder_kind == "lstm":
            c0 = torch.zeros_like(h0)
        else:
            c0 = None
        core0 = None
        if self.decoder_core is not None:
            core0 = self.decoder_core.initial_state(h0.shape[0], h0.device, h0.dtype)
        feed0 = torch.zeros_like(h0) if self.luong else None
        keys = context = context_weights = None
        if self.attention is not None:
            keys = self.attention.project_keys(states)
        else:
            counts = lengths.to(states.dtype).unsqueeze(1)  # (B, 1)
            if self.no_attention_context == "mean":
                context_weights = batch_mask.to(states.dtype) / counts
                context = (context_weights.unsqueeze(-1) * states).sum(1)
            else:
                context_weights = torch.zeros_like(batch_mask, dtype=states.dtype)
                context = last
        memory = EncoderOutput(states, keys, batch_mask, context, context_weights)
        alignment0 = None
        if self.attention_kind == "location":
            alignment0 = torch.zeros_like(batch_mask, dtype=states.dtype)
            alignment0[:, 0] = 1.0
        return memory, DecoderState(h0, c0, feed0, core0, alignment0)

    def _encode_with_core(
        self, embedded: Tensor, mask: Tensor, lengths: Tensor
    ) -> tuple[Tensor, Tensor]:
        """The encoder core over the (S, B, E) embedded source, left to right: annotations
        (B, S, H), 0 on padding, and each sequence's output at its last real token (B, H). A
        trace holds the decoder's steps only, so the encoder's emit nothing."""
        core = self.encoder_core
        state = core.initial_state(embedded.shape[1], embedded.device, embedded.dtype)
        outputs = []
        with untraced():
            for x in embedded:
                y, state = core(x, state)
                outputs.append(y)
        states = torch.stack(outputs, 1) * mask.transpose(0, 1).unsqueeze(-1)
        last = states[torch.arange(states.shape[0], device=states.device), lengths - 1]
        return states, last

    def _cell(self, x: Tensor, state: DecoderState) -> tuple[Tensor, Tensor | None, Any]:
        """The decoder's recurrent unit: (s_i, its LSTM cell or None, a core's state or None)."""
        if self.decoder_core is not None:
            h, core_state = self.decoder_core(x, state.core)
            return h, None, core_state
        if state.c is None:
            return self.cell(x, state.h), None, None
        h, c = self.cell(x, (state.h, state.c))
        return h, c, None

    def step(
        self, previous: Tensor, state: DecoderState, memory: EncoderOutput
    ) -> tuple[Tensor, Tensor, DecoderState]:
        """One decoder step: previous tokens (B,) -> logits (B, V), attention weights (B, S) and
        the next state. Emits the weights as ``"attention"`` into the active Trace."""
        embedded = self.target_embedding(previous)
        if self.luong:
            h, c, core = self._cell(torch.cat([embedded, state.feed], -1), state)
            context, weights = self.attention(
                h, memory.states, memory.states, memory.mask, projected_keys=memory.keys
            )
            attentional = torch.tanh(self.combine(torch.cat([context, h], -1)))
            logits = self.output(attentional)
            next_state = DecoderState(h, c, attentional, core)
        else:
            if self.attention is None:
                context, weights = memory.context, memory.context_weights
            else:
                location = {} if state.alignment is None else {"previous": state.alignment}
                context, weights = self.attention(
                    state.h,
                    memory.states,
                    memory.states,
                    memory.mask,
                    projected_keys=memory.keys,
                    **location,
                )
            h, c, core = self._cell(torch.cat([embedded, context], -1), state)
            logits = self.output(
                torch.tanh(self.deep_output(torch.cat([h, context, embedded], -1)))
            )
            alignment = weights if state.alignment is not None else None
            next_state = DecoderState(h, c, None, core, alignment)
        emit("attention", weights)
        return logits, weights, next_state

    # --- training and evaluation ------------------------------------------------------------

    def forward(
        self,
        source: Tensor,
        source_mask: Tensor | None = None,
        targets: Tensor | None = None,
        max_length: int | None = None,
        *,
        trace: Trace | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Decode T steps: T = the targets' length when given, else ``max_length``.

        source (S, B) long, source_mask (S, B) bool or 0/1 float (None: the non-PAD ids),
        targets (T, B) long or None. Returns logits (T, B, V) and attention (T, B, S). The targets
        are fed back (teacher forcing) only in training mode; ``trace`` records the attention of
        each step as one Trace step.
        """
        mask = self.check_source(source, source_mask)
        if targets is not None:
            self.check_targets(targets, source.shape[1])
            steps = targets.shape[0]
        elif max_length is None:
            raise ValueError("Seq2Seq.forward needs the targets or a max_length")
        else:
            steps = max_length
        if steps < 1:
            raise ValueError(f"max_length must be >= 1, got {steps}")
        if trace is None:
            return self._decode_steps(source, mask, targets, steps, None)
        with tracing(trace):
            out = self._decode_steps(source, mask, targets, steps, trace)
        trace.finish()
        return out

    def _decode_steps(
        self, source: Tensor, mask: Tensor, targets: Tensor | None, steps: int, trace
    ) -> tuple[Tensor, Tensor]:
        memory, state = self.encode(source, mask)
        batch = source.shape[1]
        forcing = self.teacher_forcing if (self.training and targets is not None) else 0.0
        previous = torch.full((batch,), BOS, dtype=torch.long, device=source.device)
        all_logits, all_weights = [], []
        for t in range(steps):
            logits, weights, state = self.step(previous, state, memory)
            all_logits.append(logits)
            all_weights.append(weights)
            if trace is not None:
                trace.next_step()
            if t + 1 == steps:
                break
            if forcing >= 1.0:
                previous = targets[t]
            else:
                previous = logits.detach().argmax(-1)
                if forcing > 0.0:
                    use_truth = torch.rand(batch, device=source.device) < forcing
                    previous = torch.where(use_truth, targets[t], previous)
        return torch.stack(all_logits), torch.stack(all_weights)

    def loss(self, task, batch) -> tuple[Tensor, Tensor]:
        """The trainer's contract: ``task.loss`` of the (teacher-forced) logits, twice (the
        model adds no cost of its own)."""
        logits, _ = self(batch.inputs, batch.input_mask, batch.targets)
        task_loss = task.loss(logits, batch)
        return task_loss, task_loss

    def evaluation_outputs(self, batch) -> Tensor:
        """(T, B, V) logits of greedy decoding for T = the targets' length, without reading the
        targets: what the trainer scores."""
        logits, _ = self(batch.inputs, batch.input_mask, max_length=batch.targets.shape[0])
        return logits

    def traced(self, batch) -> tuple[Tensor, Trace]:
        """:meth:`evaluation_outputs` and a Trace of each output step's ``attention`` (B, S)."""
        trace = Trace()
        steps = batch.targets.shape[0]
        logits, _ = self(batch.inputs, batch.input_mask, max_length=steps, trace=trace)
        return logits, trace

    def extra_metrics(self, task, context: EvaluationContext) -> dict[str, float]:
        """``decoded_exact_match``: the outputs generated until EOS (greedy, or beam search with
        ``context.beam`` > 1) that equal their targets."""
        return {
            "decoded_exact_match": decoded_exact_match(
                self, context.batches, context.beam, context.length_normalisation
            )
        }

    @torch.no_grad()
    def decode(
        self,
        source: Tensor,
        source_mask: Tensor | None = None,
        max_length: int = 100,
        beam_size: int = 1,
        length_normalisation: float = 0.0,
    ) -> Decoding:
        """Generate each sequence until EOS or ``max_length`` tokens: greedy for ``beam_size``
        1, else beam search (:func:`augrnn.attention.decoding.beam_search`), ranked by
        log P / ((5 + |Y|) / 6)^α with α = ``length_normalisation`` (Wu et al. 2016).

        Returns a :class:`Decoding` whose attention holds the weights of every decoded step.
        """
        if beam_size == 1:
            return self._greedy(source, source_mask, max_length, length_normalisation)
        return self.beam_search(source, source_mask, max_length, beam_size, length_normalisation)

    def _greedy(self, source, source_mask, max_length, alpha) -> Decoding:
        check_max_length(max_length)
        mask = self.check_source(source, source_mask)
        memory, state = self.encode(source, mask)
        hypotheses = greedy_search(
            lambda previous, s: self.step(previous, s, memory),
            state,
            source.shape[1],
            max_length,
            bos=BOS,
            eos=EOS,
            alpha=alpha,
            device=source.device,
        )
        lengths = mask.sum(0).tolist()
        return _collect(hypotheses, lengths)

    @torch.no_grad()
    def beam_search(
        self,
        source: Tensor,
        source_mask: Tensor | None = None,
        max_length: int = 100,
        beam_size: int = 4,
        length_normalisation: float = 0.0,
    ) -> Decoding:
        """Beam search, one source sequence at a time, each attending to its own real positions
        only. ``beam_size = 1`` gives greedy decoding by another route."""
        check_max_length(max_length)
        mask = self.check_source(source, source_mask)
        memory, state = self.encode(source, mask)
        lengths = mask.sum(0).tolist()
        hypotheses = []
        for b, length in enumerate(lengths):
            index = torch.tensor([b], device=source.device)
            own = _trim(_rows(memory, index), length)
            start = _rows(state, index)
            if start.alignment is not None:
                start = start._replace(alignment=start.alignment[:, :length])

            def step(previous, s, own=own):
                tiled = _rows(own, torch.zeros_like(previous))
                return self.step(previous, s, tiled)

            hypotheses.append(
                beam_search(
                    step,
                    start,
                    _rows,
                    beam_size,
                    max_length,
                    bos=BOS,
                    eos=EOS,
                    alpha=length_normalisation,
                    device=source.device,
                )
            )
        return _collect(hypotheses, lengths)


def _collect(hypotheses: list[Hypothesis], lengths: list[int]) -> Decoding:
    return Decoding(
        [h.tokens for h in hypotheses],
        [h.attention[:, :length].clone() for h, length in zip(hypotheses, lengths, strict=True)],
        [h.log_prob for h in hypotheses],
        [h.score for h in hypotheses],
    )


def _trim(memory: EncoderOutput, length: int) -> EncoderOutput:
    """The memory of the first ``length`` source positions (the context stays whole)."""

    def cut(t: Tensor | None) -> Tensor | None:
        return None if t is None else t[:, :length]

    return EncoderOutput(
        cut(memory.states),
        cut(memory.keys),
        cut(memory.mask),
        memory.context,
        cut(memory.context_weights),
    )


def check_target_ids(targets: Tensor, batch_size: int, vocab_size: int, who: str) -> None:
    """Raise ``ValueError`` unless ``targets`` is a (T >= 1, batch_size) long tensor of ids below
    ``vocab_size``; ``who`` names the model in the message."""
    if not isinstance(targets, Tensor) or targets.dtype != torch.long or targets.dim() != 2:
        raise ValueError(
            f"{who} expects the targets as a (target length, batch) long tensor of token "
            f"ids, got {describe_value(targets)}"
        )
    if targets.shape[0] < 1 or targets.shape[1] != batch_size:
        raise ValueError(
            f"the targets must have shape (target length >= 1, {batch_size}), "
            f"got {tuple(targets.shape)}"
        )
    _check_ids(targets, vocab_size, "target")


def check_max_length(max_length: int) -> None:
    if max_length < 1:
        raise ValueError(f"max_length must be >= 1, got {max_length}")


def _check_ids(ids: Tensor, vocab_size: int, name: str) -> None:
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high >= vocab_size:
        raise ValueError(
            f"{name} token ids must lie in [0, {vocab_size - 1}] (the {name} vocabulary has "
            f"{vocab_size} ids), got ids from {low} to {high}"
        )


def describe_value(value) -> str:
    if isinstance(value, Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"


@torch.no_grad()
def decoded_exact_match(
    model: Seq2Seq, batches, beam_size: int = 1, length_normalisation: float = 0.0
) -> float:
    """The fraction of episodes whose decoded output (greedy or beam search, generated until EOS
    with room for 10 tokens more than the target) equals the target exactly."""
    right = total = 0
    for batch in batches:
        max_length = batch.targets.shape[0] + 10
        decoded = model.decode(
            batch.inputs, batch.input_mask, max_length, beam_size, length_normalisation
        )
        for b, tokens in enumerate(decoded.tokens):
            target = batch.targets[: int(batch.mask[:, b].sum()), b].tolist()
            right += tokens == target
            total += 1
    return right / max(total, 1)


@dataclass
class Seq2SeqConfig(ModelConfig):
    """The attentional encoder-decoder (model kind ``seq2seq``): the keyword arguments of
    :class:`Seq2Seq` with its defaults; the vocabularies are the task's."""

    #: Width of the source and target token embeddings.
    embedding_size: int = 64
    #: Width of the decoder and of the two encoder directions together.
    hidden_size: int = 128
    #: Recurrent unit of the bidirectional encoder and of the decoder, "gru" or "lstm".
    encoder: str = "gru"
    #: "bahdanau", "location" (Bahdanau's with Chorowski's location-aware score), "luong_dot",
    #: "luong_general", "luong_concat", "scaled_dot" or "none" (no attention; see
    #: ``no_attention_context``).
    attention: str = "bahdanau"
    #: Without attention: the fixed context, the encoder's "final" state or the "mean" of its
    #: states.
    no_attention_context: str = "final"
    #: Luong's local-p attention with window half-width D (luong_* only; None: global).
    local_window: int | None = None
    #: Location-aware attention: the number of filters F over the previous alignment.
    location_channels: int = 10
    #: Location-aware attention: the filters' width along the source (odd).
    location_kernel: int = 31
    #: Probability of feeding the true previous token in training (never in evaluation).
    teacher_forcing: float = 1.0
    #: A registered core (``[model.encoder_core]`` with its ``kind``, e.g. a DNC) that reads the
    #: source left to right instead of the bidirectional RNN (None: the RNN).
    encoder_core: ModelConfig | None = core_field()
    #: A registered core as the decoder's recurrent unit (None: a GRU or LSTM cell).
    decoder_core: ModelConfig | None = core_field()

    RANGES: ClassVar[dict[str, Range]] = {
        "embedding_size": at_least(1),
        "hidden_size": at_least(1),
        "local_window": at_least(1),
        "location_channels": at_least(1),
        "location_kernel": at_least(1),
        "teacher_forcing": between(0, 1),
    }

    def summary(self, kind: str) -> str:
        cores = [
            f"{describe_model(core)} {role}"
            for role, core in (("encoder", self.encoder_core), ("decoder", self.decoder_core))
            if core is not None
        ]
        return (
            f"{kind} ({', '.join(cores)}) + {self.attention}"
            if cores
            else f"{kind} + {self.attention}"
        )


def build_seq2seq(config: Seq2SeqConfig, input_size: int, output_size: int) -> Seq2Seq:
    """A Seq2Seq from ``input_size`` source ids to ``output_size`` target ids; the nested
    cores are built for the embedding (encoder) and the embedding plus ``hidden_size``
    (decoder), each giving ``hidden_size`` features."""
    settings = {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(config)
        if f.name not in ("encoder_core", "decoder_core")
    }
    e, h = config.embedding_size, config.hidden_size
    encoder_core = None if config.encoder_core is None else build_core(config.encoder_core, e, h)
    decoder_core = (
        None if config.decoder_core is None else build_core(config.decoder_core, e + h, h)
    )
    return Seq2Seq(
        input_size, output_size, encoder_core=encoder_core, decoder_core=decoder_core, **settings
    )


MODEL_KINDS = {
    "seq2seq": ModelKind(
        Seq2SeqConfig,
        build_model=build_seq2seq,
        description="an attentional encoder-decoder over token ids",
        commands=("augrnn.attention.commands:predict",),
    )
}
