"""Sequence-to-sequence tasks over token vocabularies: read a source text, write a target text.

An episode is a pair of token-id sequences. A :class:`Batch` of them holds:

- ``inputs``: (S, B) long, the source token ids, padded with :attr:`Vocabulary.PAD`; the source
  carries no EOS, since ``input_mask`` marks where it ends;
- ``targets``: (T, B) long, the target token ids followed by :attr:`Vocabulary.EOS` (no BOS),
  padded with PAD;
- ``mask``: (T, B) float, 1 on the real target tokens (EOS included), 0 on padding;
- ``lengths``: (B,) long, the task's size parameter of each episode;
- ``input_mask``: (S, B) float, 1 on the real source tokens, 0 on padding.

A model returns (T, B, V) logits over the target vocabulary, one row per target position; the
loss is their masked cross-entropy and the headline metric the fraction of episodes with any
wrong token.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from augrnn.settings import Range, at_least, between
from augrnn.tasks.base import LN2, Batch, Task, TaskConfig, episode_sizes

#: How many symbols an error message lists before it cuts the list short.
LISTED_SYMBOLS = 40

#: The symbols of the random-string tasks, in ascending order: an alphabet of size k is the first
#: k of them (the ten digits by default).
ALPHANUMERIC = "0123456789abcdefghijklmnopqrstuvwxyz"


class UnknownSymbolError(ValueError):
    """Text holds symbols that a vocabulary does not know."""


class Vocabulary:
    """Token ids for a fixed, ordered list of symbols, after three special ids.

    PAD (0), BOS (1) and EOS (2) are the same in every vocabulary; ``symbols[i]`` has id ``3 + i``.
    ``separator`` joins the symbols when decoding ("" for a vocabulary of characters).
    """

    PAD = 0
    BOS = 1
    EOS = 2
    SPECIALS = 3

    def __init__(self, symbols: Sequence[str], separator: str = ""):
        symbols = tuple(symbols)
        if not symbols:
            raise ValueError("a vocabulary needs at least one symbol")
        if not all(isinstance(s, str) and s for s in symbols):
            raise ValueError(f"vocabulary symbols must be non-empty strings, got {symbols!r}")
        repeated = sorted({s for s in symbols if symbols.count(s) > 1})
        if repeated:
            raise ValueError(f"vocabulary symbols must be distinct; repeated: {repeated!r}")
        self._symbols = symbols
        self.separator = separator
        self._ids = {symbol: self.SPECIALS + i for i, symbol in enumerate(symbols)}

    def __len__(self) -> int:
        return self.SPECIALS + len(self._symbols)

    def __repr__(self) -> str:
        return f"Vocabulary({_listing(self._symbols)})"

    @property
    def symbols(self) -> tuple[str, ...]:
        """The task's symbols in id order, without the specials."""
        return self._symbols

    def encode(self, tokens: str | Sequence[str]) -> list[int]:
        """Symbols -> ids; a string is read as a sequence of characters.

        Raises :class:`UnknownSymbolError` listing the symbols outside the vocabulary.
        """
        unknown = [token for token in dict.fromkeys(tokens) if token not in self._ids]
        if unknown:
            raise UnknownSymbolError(
                f"unknown symbols {_listing(unknown)}; "
                f"this vocabulary allows {_listing(self._symbols)}"
            )
        return [self._ids[token] for token in tokens]

    def decode(self, ids: Tensor | Iterable[int]) -> str:
        """Ids -> text, up to the first EOS; PAD and BOS are skipped."""
        if isinstance(ids, Tensor):
            ids = ids.tolist()
        pieces = []
        for token_id in ids:
            if token_id == self.EOS:
                break
            if not 0 <= token_id < len(self):
                raise ValueError(f"token id {token_id} is outside the vocabulary of {len(self)}")
            if token_id >= self.SPECIALS:
                pieces.append(self._symbols[token_id - self.SPECIALS])
        return self.separator.join(pieces)


def _listing(symbols: Sequence[str]) -> str:
    """The symbols quoted and comma-separated, cut short after :data:`LISTED_SYMBOLS`."""
    shown = ", ".join(repr(s) for s in symbols[:LISTED_SYMBOLS])
    if len(symbols) > LISTED_SYMBOLS:
        shown += f", ... ({len(symbols)} in all)"
    return f"[{shown}]"


def pad_token_ids(sequences: Sequence[Sequence[int]]) -> tuple[Tensor, Tensor]:
    """B lists of ids -> a (L, B) long tensor padded with PAD and its (L, B) float mask, 1 on the
    real tokens, with L the longest list."""
    longest = max((len(ids) for ids in sequences), default=0)
    ids = torch.full((longest, len(sequences)), Vocabulary.PAD, dtype=torch.long)
    mask = torch.zeros(longest, len(sequences))
    for b, sequence in enumerate(sequences):
        ids[: len(sequence), b] = torch.tensor(sequence, dtype=torch.long)
        mask[: len(sequence), b] = 1.0
    return ids, mask


def random_strings(lengths: Tensor, alphabet: str, generator: torch.Generator) -> list[str]:
    """One string of uniform random characters of ``alphabet`` per entry of the (B,) lengths."""
    longest = int(lengths.max())
    draws = torch.randint(0, len(alphabet), (len(lengths), longest), generator=generator)
    return [
        "".join(alphabet[i] for i in row[:length])
        for row, length in zip(draws.tolist(), lengths.tolist(), strict=True)
    ]


class Seq2SeqTask(Task):
    """A task whose episodes are a source text and the target text to write from it.

    Subclasses provide ``source_vocab`` and ``target_vocab`` (class attributes or properties),
    draw their texts in :meth:`sample` and turn them into a batch with :meth:`make_batch`.
    """

    headline_metric = "sequence_error_rate"
    io_kind = "tokens"

    @property
    @abstractmethod
    def source_vocab(self) -> Vocabulary: ...

    @property
    @abstractmethod
    def target_vocab(self) -> Vocabulary: ...

    @property
    def input_size(self) -> int:
        return len(self.source_vocab)

    @property
    def output_size(self) -> int:
        return len(self.target_vocab)

    def sizes_text(self) -> str:
        return f"vocabularies of {self.input_size} source and {self.output_size} target tokens"

    def make_batch(self, sources: Sequence[str], targets: Sequence[str], lengths: Tensor) -> Batch:
        """B source and target texts and the (B,) sizes -> a padded batch (see the module)."""
        source_ids, input_mask = pad_token_ids([self.source_vocab.encode(s) for s in sources])
        target_ids, mask = pad_token_ids(
            [self.target_vocab.encode(t) + [Vocabulary.EOS] for t in targets]
        )
        return Batch(source_ids, target_ids, mask, lengths, input_mask)

    def encode_source(self, text: str) -> Tensor:
        """One source text -> (S, 1) long ids, as :meth:`sample` encodes it, for prediction.
        Raises ``ValueError`` for a text the task cannot read (:meth:`source_notes`)."""
        self.source_notes(text)
        return torch.tensor(self.source_vocab.encode(text), dtype=torch.long).unsqueeze(1)

    def encode_file(self, path) -> tuple[Tensor, list[str]]:
        """A source read from a file (a recording, for a speech task) -> its source tensor as
        :meth:`sample` makes it, for one episode, and notes on what was converted. Tasks whose
        sources are texts refuse with a ``ValueError``."""
        raise ValueError(f"{self.name} reads text, not files: give the texts themselves")

    def source_notes(self, text: str) -> list[str]:
        """Check a source text given for prediction: a ``ValueError`` for one the task cannot
        read (empty, only whitespace, symbols outside the vocabulary), else notes on how it lies
        outside the training distribution (a model's answer to such a text is a guess). By
        default: a text longer than any training source, for tasks whose sizes are lengths."""
        if not text.strip():
            raise ValueError(f"{self.name} needs a source text, got {text!r}")
        self.source_vocab.encode(text)  # raises for unknown symbols, listing them
        notes = []
        if self.length_name == "length" and len(text) > self.train_lengths[1]:
            notes.append(
                f"{len(text)} symbols, more than any training source "
                f"({self.train_lengths[1]}): outside the training distribution"
            )
        return notes

    def output_problem(self, source: str, output: str) -> str | None:
        """Why ``output``, a model's text for ``source``, is not a well-formed answer of this
        task (None when it is, or when the task cannot tell): shown beside the output instead of
        passing it off as an answer."""
        return None if output else "no output before the end token"

    def predicted_tokens(self, outputs, index: int) -> list[int]:
        """The target ids a model's evaluation outputs give for episode ``index``: the most
        likely token at each step of (T, B, V) logits."""
        return outputs[:, index].argmax(-1).tolist()

    def decode_target(self, ids: Tensor | Iterable[int]) -> str:
        """Target ids (e.g. a model's greedy output) -> text, up to the first EOS."""
        return self.target_vocab.decode(ids)

    def _check_logits(self, logits: Tensor, batch: Batch) -> None:
        expected = (*batch.targets.shape, self.output_size)
        if logits.shape != expected:
            raise ValueError(
                f"model output has shape {tuple(logits.shape)}, expected {expected} "
                f"(time, batch, vocab of {self.output_size} target tokens)"
            )

    def loss_per_step(self, logits: Tensor, batch: Batch) -> Tensor:
        """Cross-entropy of each target token in nats, zero on padding: (T, B, V) -> (T, B)."""
        self._check_logits(logits, batch)
        nats = F.cross_entropy(
            logits.reshape(-1, self.output_size), batch.targets.reshape(-1), reduction="none"
        )
        return nats.reshape(batch.targets.shape) * batch.mask

    @torch.no_grad()
    def metrics(self, logits: Tensor, batch: Batch) -> dict[str, float]:
        """``cost_bits`` (cross-entropy per sequence in bits), ``token_accuracy`` (greedy tokens
        right, over the real target tokens), ``exact_match`` (episodes with every token right)
        and ``sequence_error_rate`` (1 - exact_match)."""
        self._check_logits(logits, batch)
        scored = batch.mask > 0
        right = (logits.argmax(-1) == batch.targets) & scored
        exact = (right == scored).all(0).float().mean().item()
        return {
            "cost_bits": (self.loss_per_step(logits, batch).sum(0) / LN2).mean().item(),
            "token_accuracy": (right.sum() / scored.sum().clamp_min(1)).item(),
            "exact_match": exact,
            "sequence_error_rate": 1.0 - exact,
        }

    def describe_size(self, size: int) -> str:
        """How :meth:`render` names an episode's size parameter."""
        return f"{self.length_name} {size}"

    def render(self, batch: Batch, index: int = 0, logits: Tensor | None = None) -> str:
        lines = [
            f"{self.name}, {self.describe_size(int(batch.lengths[index]))}",
            f"source: {self.source_vocab.decode(batch.inputs[:, index])}",
            f"target: {self.decode_target(batch.targets[:, index])}",
        ]
        if logits is not None:
            lines.append(f"output: {self.decode_target(logits[:, index].argmax(-1))}")
        return "\n".join(lines)


@dataclass
class RandomStringConfig(TaskConfig):
    alphabet_size: int = 10
    min_length: int = 5
    max_length: int = 20

    RANGES: ClassVar[dict[str, Range]] = {
        "alphabet_size": between(2, 36),
        "min_length": at_least(1),
        "max_length": at_least(1),
    }


class RandomStringTask(Seq2SeqTask):
    """Source: L uniform random symbols of the first ``alphabet_size`` of :data:`ALPHANUMERIC`,
    L ~ U{min_length..max_length}; target: :meth:`transform` of the source, over the same symbols.
    ``lengths`` holds L, and the ``length`` argument of :meth:`sample` fixes it, at any L >= 1."""

    config: RandomStringConfig

    def __init__(self, config: RandomStringConfig | None = None):
        super().__init__(config)
        c = self.config
        if not 2 <= c.alphabet_size <= len(ALPHANUMERIC):
            raise ValueError(
                f"{self.name} needs 2 <= alphabet_size <= {len(ALPHANUMERIC)}, got {c}"
            )
        if not 1 <= c.min_length <= c.max_length:
            raise ValueError(f"{self.name} needs 1 <= min_length <= max_length, got {c}")
        self.alphabet = ALPHANUMERIC[: c.alphabet_size]
        self._vocab = Vocabulary(self.alphabet)

    @property
    def source_vocab(self) -> Vocabulary:
        return self._vocab

    @property
    def target_vocab(self) -> Vocabulary:
        return self._vocab

    @property
    def train_lengths(self) -> tuple[int, int]:
        return (self.config.min_length, self.config.max_length)

    @abstractmethod
    def transform(self, source: str) -> str:
        """The target text of a source text."""

    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        """Draw episodes; ``length`` fixes the source length L."""
        c = self.config
        lengths = episode_sizes(
            self.name, batch_size, c.min_length, c.max_length, generator, length
        )
        sources = random_strings(lengths, self.alphabet, generator)
        return self.make_batch(sources, [self.transform(s) for s in sources], lengths)
