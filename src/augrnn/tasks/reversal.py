"""Reversal: read a random string of symbols, then write it backwards.

Source: L symbols drawn uniformly from the ten digits (``alphabet_size`` of them, digits then
letters), L ~ U{min_length..max_length} = U{5..20}; target: the same symbols in reverse order,
then EOS. Token-id shapes as for every :class:`~augrnn.tasks.text.Seq2SeqTask`: inputs (L, B),
targets (L + 1, B), with L the longest in the batch. ``length`` fixes L, beyond max_length too.
"""

from __future__ import annotations

from dataclasses import dataclass

from augrnn.tasks.text import RandomStringConfig, RandomStringTask


@dataclass
class ReversalConfig(RandomStringConfig):
    """Settings of :class:`ReversalTask`: alphabet size and source length range."""


class ReversalTask(RandomStringTask):
    name = "reversal"
    description = "write a string of 5-20 random digits backwards"
    config_class = ReversalConfig
    config: ReversalConfig

    def transform(self, source: str) -> str:
        return source[::-1]
