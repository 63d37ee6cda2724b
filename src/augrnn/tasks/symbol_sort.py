"""Symbol sort: read a random string of symbols, then write its symbols in ascending order.

Source: L symbols drawn uniformly, repeats allowed, from the ten digits (``alphabet_size`` of them,
digits then letters), L ~ U{min_length..max_length} = U{5..20}; target: the same symbols sorted,
then EOS. Token-id shapes as for every :class:`~augrnn.tasks.text.Seq2SeqTask`: inputs (L, B),
targets (L + 1, B), with L the longest in the batch. ``length`` fixes L, beyond max_length too.
"""

from __future__ import annotations

from dataclasses import dataclass

from augrnn.tasks.text import RandomStringConfig, RandomStringTask


@dataclass
class SymbolSortConfig(RandomStringConfig):
    """Settings of :class:`SymbolSortTask`: alphabet size and source length range."""


class SymbolSortTask(RandomStringTask):
    name = "symbol_sort"
    description = "write a string of 5-20 random digits in ascending order"
    config_class = SymbolSortConfig
    config: SymbolSortConfig

    def transform(self, source: str) -> str:
        # The alphabet lists digits before letters, as their character codes do.
        return "".join(sorted(source))
