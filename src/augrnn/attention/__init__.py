"""Attentional interfaces: attention modules and an attentional encoder-decoder.

The scoring and normalising maths lives in :mod:`augrnn.addressing`; :mod:`.modules` holds the
parameterised attention layers, :mod:`.seq2seq` the encoder-decoder and :mod:`.decoding` greedy
and beam search.
"""

from augrnn.attention.decoding import Hypothesis, beam_search, greedy_search, length_penalty
from augrnn.attention.modules import (
    AdditiveAttention,
    Attention,
    LocationAwareAttention,
    LuongAttention,
    ScaledDotAttention,
)
from augrnn.attention.seq2seq import ATTENTION_KINDS, BOS, EOS, PAD, Decoding, Seq2Seq

__all__ = [
    "ATTENTION_KINDS",
    "BOS",
    "EOS",
    "PAD",
    "AdditiveAttention",
    "Attention",
    "Decoding",
    "Hypothesis",
    "LocationAwareAttention",
    "LuongAttention",
    "ScaledDotAttention",
    "Seq2Seq",
    "beam_search",
    "greedy_search",
    "length_penalty",
]
