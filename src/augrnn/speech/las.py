"""Listen, Attend and Spell (Chan et al. 2016), with content-based or location-aware attention
(Chorowski et al. 2015), and the same network without attention.

The listener (:class:`~augrnn.speech.listener.Listener`) turns the frames into h = (h_1..h_U).
The speller is a stack of LSTM cells over characters (LAS eqs 6-9):

    s_i = RNN(s_{i−1}, [E y_{i−1}; c_{i−1}])
    c_i, α_i = attend(s_i, h, α_{i−1})
    P(y_i | x, y_<i) = softmax(W_2 tanh(W_1 [s_i; c_i]))

with c_0 = 0 and α_0 one-hot on the first step. ``attention``:

- ``"content"``: e_{i,u} = wᵀ tanh(W s_i + V h_u + b), α_i = softmax(e_i) (the additive score;
  LAS scores with a dot product of two MLPs, Chorowski's content-based baseline is this one);
- ``"location"``: the same plus U (F * α_{i−1})_u, Chorowski's convolutional features of the
  previous alignment (:class:`~augrnn.attention.modules.LocationAwareAttention`);
- ``"none"``: the baseline without attention: c_i = [→h_U; ←h_1], the listener's final states,
  at every step (an encoder-decoder of Cho et al. 2014 with the same listener and speller).

Training feeds the true previous character with probability ``teacher_forcing`` and otherwise
one sampled from the speller's own distribution (LAS §3.3 samples 10% of the time); evaluation
decodes greedily or by beam search until EOS. The alignments α_i are emitted as
``"speech_attention"`` (B, U) per output step.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

import torch
from torch import Tensor, nn

from augrnn.attention.decoding import beam_search, greedy_search
from augrnn.attention.modules import AdditiveAttention, LocationAwareAttention
from augrnn.attention.seq2seq import (
    BOS,
    EOS,
    PAD,
    SPECIAL_TOKENS,
    Decoding,
    check_max_length,
    check_target_ids,
)
from augrnn.core import Trace, emit, tracing, tree_map
from augrnn.interface import EvaluationContext, Model
from augrnn.settings import check_integers
from augrnn.speech.listener import Heard, Listener
from augrnn.tasks.speech.task import Transcription

SPELLER_ATTENTION = ("content", "location", "none")


class SpellerState(NamedTuple):
    """h, c: per speller layer (B, S) LSTM states; context: (B, 2H) c_{i−1}; alignment: (B, U)
    α_{i−1}."""

    h: tuple[Tensor, ...]
    c: tuple[Tensor, ...]
    context: Tensor
    alignment: Tensor


class ListenerMemory(NamedTuple):
    """What the speller attends to: the listener's states (B, U, 2H), their projected keys
    (B, U, A) (None without attention), the (B, U) mask and the (B, 2H) final states."""

    states: Tensor
    keys: Tensor | None
    mask: Tensor
    final: Tensor


def _rows(value: NamedTuple, index: Tensor) -> NamedTuple:
    return tree_map(lambda t: t[index], value)


class LAS(Model):
    """Listen, Attend and Spell (see the module): features in, character logits out.

    ``logits, alignments = model(features, frame_mask, targets)``: features (T, B, F), the (T, B)
    frame mask, targets (L, B) character ids ending with EOS -> (L, B, V) logits and the (L, B,
    U) alignments. Sizes as in the paper by default: a listener of 256 units per direction and 3
    pyramid layers, a speller of 2 layers of 512.
    """

    decodes: ClassVar[bool] = True

    def __init__(
        self,
        input_size: int,
        vocab_size: int,
        *,
        listener_size: int = 256,
        pyramid_layers: int = 3,
        speller_size: int = 512,
        speller_layers: int = 2,
        embedding_size: int = 64,
        attention: str = "content",
        attention_size: int = 128,
        location_channels: int = 10,
        location_kernel: int = 31,
        teacher_forcing: float = 0.9,
    ):
        super().__init__()
        check_integers(
            "LAS",
            speller_size=speller_size,
            speller_layers=speller_layers,
            embedding_size=embedding_size,
            attention_size=attention_size,
        )
        if vocab_size < SPECIAL_TOKENS + 1:
            raise ValueError(
                f"the character vocabulary needs PAD, BOS, EOS and a symbol, got {vocab_size}"
            )
        if min(speller_size, speller_layers, embedding_size, attention_size) < 1:
            raise ValueError(
                "LAS needs positive speller_size, speller_layers, embedding_size and attention_size"
            )
        if attention not in SPELLER_ATTENTION:
            raise ValueError(f"attention must be one of {SPELLER_ATTENTION}, got {attention!r}")
        if not 0.0 <= teacher_forcing <= 1.0:
            raise ValueError(f"teacher_forcing must be in [0, 1], got {teacher_forcing}")
        self.vocab_size = vocab_size
        self.attention_kind = attention
        self.teacher_forcing = teacher_forcing
        self.listener = Listener(input_size, listener_size, pyramid_layers)
        width = self.listener.output_size
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=PAD)
        sizes = [embedding_size + width] + [speller_size] * (speller_layers - 1)
        self.cells = nn.ModuleList(nn.LSTMCell(size, speller_size) for size in sizes)
        self.attention: AdditiveAttention | None
        if attention == "content":
            self.attention = AdditiveAttention(speller_size, width, attention_size)
        elif attention == "location":
            self.attention = LocationAwareAttention(
                speller_size, width, attention_size, location_channels, location_kernel
            )
        else:
            self.attention = None
        self.hidden = nn.Linear(speller_size + width, speller_size)  # W_1
        self.output = nn.Linear(speller_size, vocab_size)  # W_2

    # --- listening and one speller step -----------------------------------------------------

    def listen(self, features: Tensor, frame_mask: Tensor) -> tuple[ListenerMemory, SpellerState]:
        """The listener's memory and the speller's initial state."""
        heard: Heard = self.listener(features, frame_mask)
        keys = None if self.attention is None else self.attention.project_keys(heard.states)
        memory = ListenerMemory(heard.states, keys, heard.mask, heard.final)
        batch, steps = heard.mask.shape
        zeros = heard.final.new_zeros(batch, self.cells[0].hidden_size)
        first = heard.final.new_zeros(batch, steps)
        first[:, 0] = 1.0
        state = SpellerState(
            tuple(zeros for _ in self.cells),
            tuple(zeros for _ in self.cells),
            torch.zeros_like(heard.final),
            first,
        )
        return memory, state

    def step(
        self, previous: Tensor, state: SpellerState, memory: ListenerMemory
    ) -> tuple[Tensor, Tensor, SpellerState]:
        """Previous characters (B,) -> logits (B, V), the alignment α_i (B, U) and the next
        state; emits the alignment as ``"speech_attention"``."""
        x = torch.cat([self.embedding(previous), state.context], -1)
        hs, cs = [], []
        for cell, h, c in zip(self.cells, state.h, state.c, strict=True):
            h, c = cell(x, (h, c))
            hs.append(h)
            cs.append(c)
            x = h
        if self.attention is None:
            context, weights = memory.final, torch.zeros_like(state.alignment)
        else:
            location = (
                {"previous": state.alignment}
                if isinstance(self.attention, LocationAwareAttention)
                else {}
            )
            context, weights = self.attention(
                x,
                memory.states,
                memory.states,
                memory.mask,
                projected_keys=memory.keys,
                **location,
            )
        logits = self.output(torch.tanh(self.hidden(torch.cat([x, context], -1))))
        emit("speech_attention", weights)
        return logits, weights, SpellerState(tuple(hs), tuple(cs), context, weights)

    # --- training ---------------------------------------------------------------------------

    def forward(
        self, features: Tensor, frame_mask: Tensor, targets: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Teacher-forced decoding of the targets' L steps (see the class)."""
        check_target_ids(targets, features.shape[1], self.vocab_size, "LAS")
        memory, state = self.listen(features, frame_mask)
        batch = targets.shape[1]
        previous = torch.full((batch,), BOS, dtype=torch.long, device=targets.device)
        forcing = self.teacher_forcing if self.training else 1.0
        all_logits, all_weights = [], []
        for t in range(targets.shape[0]):
            logits, weights, state = self.step(previous, state, memory)
            all_logits.append(logits)
            all_weights.append(weights)
            previous = targets[t]
            if forcing < 1.0:
                sampled = torch.multinomial(torch.softmax(logits.detach(), -1), 1).squeeze(1)
                own = torch.rand(batch, device=targets.device) >= forcing
                previous = torch.where(own, sampled, previous)
        return torch.stack(all_logits), torch.stack(all_weights)

    def loss(self, task, batch) -> tuple[Tensor, Tensor]:
        logits, _ = self(batch.inputs, batch.steps_mask(), batch.targets)
        task_loss = task.loss(logits, batch)
        return task_loss, task_loss

    # --- decoding ---------------------------------------------------------------------------

    @torch.no_grad()
    def decode(
        self,
        features: Tensor,
        frame_mask: Tensor | None = None,
        max_length: int = 200,
        beam_size: int = 1,
        length_normalisation: float = 0.0,
    ) -> Decoding:
        """Transcribe each utterance until EOS or ``max_length`` characters: greedy for
        ``beam_size`` 1, else beam search ranked by log P / ((5 + |Y|) / 6)^α. The attention of
        a :class:`~augrnn.attention.seq2seq.Decoding` is over each utterance's own U_b steps."""
        check_max_length(max_length)
        if frame_mask is None:
            frame_mask = torch.ones(features.shape[:2], device=features.device)
        memory, state = self.listen(features, frame_mask)
        lengths = memory.mask.sum(1).tolist()
        if beam_size == 1:
            hypotheses = greedy_search(
                lambda previous, s: self.step(previous, s, memory),
                state,
                features.shape[1],
                max_length,
                bos=BOS,
                eos=EOS,
                alpha=length_normalisation,
                device=features.device,
            )
        else:
            hypotheses = []
            for b, length in enumerate(lengths):
                index = torch.tensor([b], device=features.device)
                own = _trim(_rows(memory, index), length)
                start = _rows(state, index)
                start = start._replace(alignment=start.alignment[:, :length])

                def step(previous, s, own=own):
                    return self.step(previous, s, _rows(own, torch.zeros_like(previous)))

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
                        device=features.device,
                    )
                )
        return Decoding(
            [h.tokens for h in hypotheses],
            [h.attention[:, :n].clone() for h, n in zip(hypotheses, lengths, strict=True)],
            [h.log_prob for h in hypotheses],
            [h.score for h in hypotheses],
        )

    def evaluation_outputs(self, batch) -> Transcription:
        """Greedy transcripts, each until EOS or 10 characters past its target's length."""
        decoded = self.decode(batch.inputs, batch.steps_mask(), batch.targets.shape[0] + 10)
        return transcription(decoded)

    def traced(self, batch) -> tuple[Transcription, Trace]:
        """:meth:`evaluation_outputs` and a Trace of each output step's ``speech_attention``
        (B, U) (zero after a transcript's end)."""
        decoded = self.decode(batch.inputs, batch.steps_mask(), batch.targets.shape[0] + 10)
        steps = max(len(tokens) for tokens in decoded.tokens)
        listened = int(self.listener_steps(batch.steps_mask()).max())
        trace = Trace()
        with tracing(trace):
            for t in range(steps):
                weights = torch.zeros(len(decoded.tokens), listened)
                for b, alignment in enumerate(decoded.attention):
                    if t < len(alignment):
                        weights[b, : alignment.shape[1]] = alignment[t]
                emit("speech_attention", weights)
                trace.next_step()
        trace.finish()
        return transcription(decoded), trace

    def listener_steps(self, frame_mask: Tensor) -> Tensor:
        """(T, B) frame mask -> (B,) U_b, the listener's steps of each utterance."""
        lengths = (frame_mask != 0).sum(0)
        for _ in range(len(self.listener.pyramid)):
            lengths = (lengths + 1) // 2
        return lengths

    def extra_metrics(self, task, context: EvaluationContext) -> dict[str, float]:
        """With ``--beam`` > 1: the error rates of beam-search transcripts."""
        if context.beam == 1:
            return {}
        rates, _ = decoded_error_rates(
            self, task, context.batches, context.beam, context.length_normalisation
        )
        return {f"beam_{name}": value for name, value in rates.items()}


def decoded_error_rates(
    model, task, batches: list, beam: int = 1, length_normalisation: float = 0.0
) -> tuple[dict[str, float], list[Tensor]]:
    """The task's error rates of ``model.decode``'s transcripts (each until EOS or 10
    characters past its target's length), averaged over ``batches`` weighted by their sizes as
    evaluation averages them, and every utterance's (characters, U_b) attention."""
    totals: dict[str, float] = {}
    attention: list[Tensor] = []
    count = 0
    for batch in batches:
        decoded = model.decode(
            batch.inputs,
            batch.steps_mask(),
            batch.targets.shape[0] + 10,
            beam,
            length_normalisation,
        )
        size = len(decoded.tokens)
        for name, value in task.metrics(transcription(decoded), batch).items():
            totals[name] = totals.get(name, 0.0) + value * size
        attention += decoded.attention
        count += size
    return {name: total / max(count, 1) for name, total in totals.items()}, attention


def _trim(memory: ListenerMemory, length: int) -> ListenerMemory:
    return ListenerMemory(
        memory.states[:, :length],
        None if memory.keys is None else memory.keys[:, :length],
        memory.mask[:, :length],
        memory.final,
    )


def transcription(decoded: Decoding) -> Transcription:
    """The tokens of a Decoding, each without its EOS."""
    return Transcription([[t for t in tokens if t != EOS] for tokens in decoded.tokens])
