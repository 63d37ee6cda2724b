"""Transduction of sentences of a small synchronous grammar, an inversion transduction grammar
(ITG; Grefenstette et al. 2015, §4.1 "ITG transduction tasks"): reorder subject-verb-object
sentences into subject-object-verb (``svo_sov``), or give a genderless language's articles the
gender of their noun (``gender_conjugation``).

The paper's exact grammars and vocabularies (its appendix) are not reproduced; this grammar has
the phenomena the paper names, relative clauses that nest and articles whose form hangs on a
later noun. Source side:

    S  -> NP V NP                      the subject, the verb, the object
    NP -> Det Adj{0,2} N [RC]          Det in {the, a}
    RC -> who V NP                     a relative clause; its NP may take one in turn

``svo_sov`` inverts each V NP (in S and in every relative clause), so that the verbs close
nested clauses in the reverse order of their opening: "the n1 who v1 the n2 who v2 a n3 v3 the
n4" becomes "the n1 who the n2 who a n3 v2 v1 the n4 v3". ``gender_conjugation`` keeps the
order and writes "the" as der / die / das and "a" as ein / eine / ein by the gender of the noun
its NP ends in (noun i is masculine, feminine or neuter as i mod 3 is 0, 1 or 2), one or three
words later.

**Lengths.** A sentence with k relative clauses and j adjectives has 5 + 4k + j words (2 + k
NPs, at most 2 adjectives each). A source length L ~ U{min_length..max_length} (the paper trains
on 8-64 and tests on 65-128) is drawn as in the random-string tasks; then k uniformly among the
counts that can make L, the adjectives spread at random over the NPs, and each clause hung on
the subject's or the object's chain of clauses at random. (The paper draws sentences from the
grammar and rejects those outside the range; drawing the length first keeps the lengths
uniform and a fixed length cheap to draw.)

Episodes, inputs, targets and scores are those of :mod:`augrnn.tasks.transduction`, over a
vocabulary of the articles, "who", the nouns, the verbs and the adjectives.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from augrnn.settings import Range, at_least
from augrnn.tasks.base import TaskConfig
from augrnn.tasks.transduction import TransductionTask

#: The articles: the source's two, then their gendered forms.
ARTICLES = ("the", "a", "der", "die", "das", "ein", "eine")
#: The definite and indefinite forms by the noun's gender (masculine, feminine, neuter).
GENDERED = {"the": ("der", "die", "das"), "a": ("ein", "eine", "ein")}
RELATIVE = "who"
#: Adjectives one NP may have.
MAX_ADJECTIVES = 2
#: Words of a sentence with no clause and no adjective: Det N V Det N.
SHORTEST = 5


@dataclass
class ItgConfig(TaskConfig):
    """Settings of the ITG tasks: the source length range (the paper's training range) and the
    words of each class."""

    min_length: int = 8
    max_length: int = 64
    nouns: int = 30
    verbs: int = 30
    adjectives: int = 30

    RANGES: ClassVar[dict[str, Range]] = {
        "min_length": at_least(SHORTEST),
        "max_length": at_least(SHORTEST),
        "nouns": at_least(1),
        "verbs": at_least(1),
        "adjectives": at_least(1),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.min_length > self.max_length:
            raise ValueError(
                f"an ITG task needs min_length <= max_length, got {self.min_length} > "
                f"{self.max_length}"
            )


class Vocabulary:
    """The words of the ITG tasks and their symbols: the articles, "who", then nouns ``n0``…,
    verbs ``v0``… and adjectives ``j0``…"""

    def __init__(self, nouns: int, verbs: int, adjectives: int):
        self.words = (
            list(ARTICLES)
            + [RELATIVE]
            + [f"n{i}" for i in range(nouns)]
            + [f"v{i}" for i in range(verbs)]
            + [f"j{i}" for i in range(adjectives)]
        )
        self.symbol = {word: i for i, word in enumerate(self.words)}
        self.nouns = [f"n{i}" for i in range(nouns)]
        self.verbs = [f"v{i}" for i in range(verbs)]
        self.adjectives = [f"j{i}" for i in range(adjectives)]

    def __len__(self) -> int:
        return len(self.words)

    @staticmethod
    def gender(noun: str) -> int:
        """0, 1 or 2: masculine, feminine or neuter (noun i: i mod 3)."""
        return int(noun[1:]) % 3


@dataclass
class NounPhrase:
    """Det Adj* N [who V NP]: a noun phrase of the source side."""

    article: str
    adjectives: list[str]
    noun: str
    clause_verb: str | None = None
    clause_object: NounPhrase | None = None


def clause_counts(length: int) -> range:
    """The numbers k of relative clauses a sentence of ``length`` words can hold: 5 + 4k + j =
    length with 0 <= j <= 2 (2 + k)."""
    low = max(0, -((SHORTEST + 2 * MAX_ADJECTIVES - length) // (4 + MAX_ADJECTIVES)))
    return range(low, (length - SHORTEST) // 4 + 1)


def draw_sentence(
    vocabulary: Vocabulary, length: int, rng: random.Random
) -> tuple[NounPhrase, str, NounPhrase]:
    """A sentence (subject, verb, object) of exactly ``length`` (>= 5) words."""
    clauses = rng.choice(clause_counts(length))
    phrases = 2 + clauses
    slots = [i for i in range(phrases) for _ in range(MAX_ADJECTIVES)]
    with_adjective = rng.sample(slots, length - SHORTEST - 4 * clauses)
    on_subject = sum(rng.random() < 0.5 for _ in range(clauses))

    def phrase(index: int) -> NounPhrase:
        return NounPhrase(
            rng.choice(("the", "a")),
            [rng.choice(vocabulary.adjectives) for _ in range(with_adjective.count(index))],
            rng.choice(vocabulary.nouns),
        )

    chains = ([phrase(0)], [phrase(1)])
    index = 2
    for chain, count in zip(chains, (on_subject, clauses - on_subject), strict=True):
        for _ in range(count):
            chain[-1].clause_verb = rng.choice(vocabulary.verbs)
            chain[-1].clause_object = phrase(index)
            chain.append(chain[-1].clause_object)
            index += 1
    return chains[0][0], rng.choice(vocabulary.verbs), chains[1][0]


def phrase_words(phrase: NounPhrase, verb_last: bool, gendered: bool) -> list[str]:
    """The words of an NP, its clause's V NP inverted when ``verb_last``, its article gendered
    when ``gendered``."""
    article = phrase.article
    if gendered:
        article = GENDERED[article][Vocabulary.gender(phrase.noun)]
    words = [article, *phrase.adjectives, phrase.noun]
    if phrase.clause_object is not None:
        inner = phrase_words(phrase.clause_object, verb_last, gendered)
        verb = [phrase.clause_verb]
        words += [RELATIVE, *(inner + verb if verb_last else verb + inner)]
    return words


def sentence_words(
    sentence: tuple[NounPhrase, str, NounPhrase], verb_last: bool = False, gendered: bool = False
) -> list[str]:
    """The words of a sentence: SVO, or SOV with every V NP inverted (``verb_last``)."""
    subject, verb, obj = sentence
    head = phrase_words(subject, verb_last, gendered)
    tail = phrase_words(obj, verb_last, gendered)
    return head + (tail + [verb] if verb_last else [verb] + tail)


class ItgTask(TransductionTask):
    """A sentence of the grammar (see the module), then its transduction."""

    config_class = ItgConfig
    config: ItgConfig
    verb_last: ClassVar[bool] = False
    gendered: ClassVar[bool] = False

    def __init__(self, config: ItgConfig | None = None):
        super().__init__(config)
        c = self.config
        self.vocabulary = Vocabulary(c.nouns, c.verbs, c.adjectives)

    @property
    def symbols(self) -> int:
        return len(self.vocabulary)

    def episodes(
        self, batch_size: int, generator: torch.Generator, length: int | None
    ) -> tuple[Tensor, Tensor, Tensor]:
        if length is not None and length < SHORTEST:
            raise ValueError(f"{self.name} needs a source length >= {SHORTEST}, got {length}")
        lengths = self.episode_lengths(batch_size, generator, length)
        # Python's generator for the sentences' structure, seeded from torch's: one stream.
        rng = random.Random(int(torch.randint(0, 2**62, (1,), generator=generator)))
        longest = int(lengths.max())
        source = torch.zeros(longest, batch_size, dtype=torch.long)
        target = torch.zeros(longest, batch_size, dtype=torch.long)
        symbol = self.vocabulary.symbol
        for b, size in enumerate(lengths.tolist()):
            sentence = draw_sentence(self.vocabulary, size, rng)
            source[:size, b] = torch.tensor([symbol[w] for w in sentence_words(sentence)])
            written = sentence_words(sentence, self.verb_last, self.gendered)
            target[:size, b] = torch.tensor([symbol[w] for w in written])
        return source, target, lengths

    def word(self, token: int) -> str:
        return self.vocabulary.words[token]

    def describe_size(self, size: int) -> str:
        return f"a sentence of {size} words"


class SvoSovTask(ItgTask):
    name = "svo_sov"
    description = "reorder a subject-verb-object sentence of 8-64 words into subject-object-verb"
    verb_last = True


class GenderConjugationTask(ItgTask):
    name = "gender_conjugation"
    description = "give the articles of a sentence of 8-64 words their noun's gender"
    gendered = True
