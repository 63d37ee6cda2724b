"""The CTC baseline (Graves et al. 2006): the LAS listener, a per-step softmax over the
characters and a blank, and ``torch.nn.CTCLoss``; no attention, no speller.

The blank is the vocabulary's PAD id (0), which no transcript holds. CTC needs at least as many
listener steps as characters, so its preset keeps one pyramid layer (steps of 20 ms) where LAS
has three. Decoding takes the most likely label of every step, merges repeats and drops blanks
(best-path decoding). The per-step label probabilities are emitted as ``"ctc_probabilities"``
(B, V).
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from augrnn.attention.seq2seq import EOS, PAD, Decoding, check_max_length
from augrnn.core import Trace, emit, tracing
from augrnn.interface import EvaluationContext, Model
from augrnn.speech.listener import Listener
from augrnn.tasks.speech.task import Transcription

BLANK = PAD


class CTC(Model):
    """Listener + linear read-out + CTC loss: features (T, B, F) with their (T, B) mask ->
    (U, B, V) log-probabilities over the characters and the blank. It decodes by best path
    only: a beam size above 1 is refused."""

    decodes: ClassVar[bool] = True

    def __init__(
        self, input_size: int, vocab_size: int, *, listener_size: int = 256, pyramid_layers: int = 1
    ):
        super().__init__()
        if vocab_size < 4:
            raise ValueError(
                f"the character vocabulary needs a blank and symbols, got {vocab_size}"
            )
        self.vocab_size = vocab_size
        self.listener = Listener(input_size, listener_size, pyramid_layers)
        self.output = nn.Linear(self.listener.output_size, vocab_size)
        self.ctc = nn.CTCLoss(blank=BLANK, reduction="none", zero_infinity=True)

    def forward(self, features: Tensor, frame_mask: Tensor) -> tuple[Tensor, Tensor]:
        """(U, B, V) log-probabilities and the (B,) listener steps U_b."""
        heard = self.listener(features, frame_mask)
        log_probs = F.log_softmax(self.output(heard.states), -1).transpose(0, 1)
        return log_probs, heard.mask.sum(1)

    def loss(self, task, batch) -> tuple[Tensor, Tensor]:
        """The CTC loss of each transcript (without its EOS), nats per utterance, averaged."""
        log_probs, steps = self(batch.inputs, batch.steps_mask())
        lengths = (batch.mask.sum(0) - 1).long()  # the EOS is not spoken
        targets = batch.targets.transpose(0, 1)  # (B, L), padding ignored beyond lengths
        nats = self.ctc(log_probs, targets, steps, lengths)
        loss = nats.mean()
        return loss, loss

    @torch.no_grad()
    def transcribe(self, features: Tensor, frame_mask: Tensor) -> tuple[Transcription, Tensor]:
        """Best-path transcripts and the (U, B, V) probabilities."""
        log_probs, steps = self(features, frame_mask)
        return best_paths(log_probs, steps), log_probs.exp()

    @torch.no_grad()
    def decode(
        self,
        features: Tensor,
        frame_mask: Tensor | None = None,
        max_length: int = 200,
        beam_size: int = 1,
        length_normalisation: float = 0.0,
    ) -> Decoding:
        """Best-path transcripts as a :class:`~augrnn.attention.seq2seq.Decoding` (each ending
        with EOS unless cut at ``max_length``; no attention, so (len, 0) weights; the log
        probability of the best path)."""
        check_max_length(max_length)
        if beam_size != 1:
            raise ValueError(f"CTC decodes by best path only (beam 1), got a beam of {beam_size}")
        if frame_mask is None:
            frame_mask = torch.ones(features.shape[:2], device=features.device)
        log_probs, steps = self(features, frame_mask)
        tokens = [(t + [EOS])[:max_length] for t in best_paths(log_probs, steps).tokens]
        best = log_probs.max(-1).values  # (U, B)
        path = [float(best[:n, b].sum()) for b, n in enumerate(steps.tolist())]
        empty = [torch.zeros(len(t), 0) for t in tokens]
        return Decoding(tokens, empty, path, path)

    def extra_metrics(self, task, context: EvaluationContext) -> dict[str, float]:
        if context.beam != 1:
            raise ValueError(f"CTC decodes by best path only (beam 1), got --beam {context.beam}")
        return {}

    def evaluation_outputs(self, batch) -> Transcription:
        return self.transcribe(batch.inputs, batch.steps_mask())[0]

    def traced(self, batch) -> tuple[Transcription, Trace]:
        """The transcripts and a Trace of each listener step's ``ctc_probabilities`` (B, V)."""
        transcripts, probabilities = self.transcribe(batch.inputs, batch.steps_mask())
        trace = Trace()
        with tracing(trace):
            for step in probabilities:
                emit("ctc_probabilities", step)
                trace.next_step()
        trace.finish()
        return transcripts, trace


def best_paths(log_probs: Tensor, steps: Tensor) -> Transcription:
    """(U, B, V) log-probabilities and the (B,) steps of each utterance -> the most likely label
    of every step, repeats merged, blanks (and EOS) dropped."""
    best = log_probs.argmax(-1).transpose(0, 1)  # (B, U)
    tokens = []
    for row, length in zip(best.tolist(), steps.tolist(), strict=True):
        kept, last = [], BLANK
        for label in row[:length]:
            if label != last and label not in (BLANK, EOS):
                kept.append(label)
            last = label
        tokens.append(kept)
    return Transcription(tokens)
