import random

import pytest

from augrnn.tasks.speech.transcripts import (
    CHARACTERS,
    DATE_FORMATS,
    TRANSCRIPTS,
    number_words,
    ordinal_words,
    year_words,
)


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (13, "thirteen"),
        (40, "forty"),
        (342, "three hundred and forty two"),
        (700, "seven hundred"),
        (2005, "two thousand and five"),
        (21_340, "twenty one thousand three hundred and forty"),
    ],
)
def test_number_words(n, words):
    assert number_words(n) == words


def test_ordinals_and_years():
    assert [ordinal_words(d) for d in (1, 12, 20, 23, 31)] == [
        "first", "twelfth", "twentieth", "twenty third", "thirty first",
    ]  # fmt: skip
    assert year_words(1999) == "nineteen ninety nine"
    assert year_words(1905) == "nineteen oh five"
    assert year_words(2003) == "two thousand and three"
    assert year_words(2019) == "twenty nineteen"
    assert year_words(1900) == "nineteen hundred"


def test_out_of_range_numbers_are_refused():
    with pytest.raises(ValueError, match="0 <= n < 1000000"):
        number_words(-1)
    with pytest.raises(ValueError, match="days 1 to 31"):
        ordinal_words(32)


@pytest.mark.parametrize("kind", sorted(TRANSCRIPTS))
def test_transcripts_use_the_vocabulary_and_are_seeded(kind):
    spec = TRANSCRIPTS[kind]
    low, high = spec.sizes
    for size in range(low, (high if high is not None else 6) + 1):
        texts = [spec.draw(size, random.Random(seed)) for seed in range(20)]
        assert texts == [spec.draw(size, random.Random(seed)) for seed in range(20)]
        assert len(set(texts)) > 1
        for text in texts:
            assert set(text) <= set(CHARACTERS)
            assert text == " ".join(text.split())  # single spaces, no edges


def test_digit_strings_have_size_words():
    draw = TRANSCRIPTS["digits"].draw
    assert [len(draw(size, random.Random(1)).split()) for size in (1, 4, 9)] == [1, 4, 9]
    assert len(DATE_FORMATS) - 1 == TRANSCRIPTS["dates"].sizes[1]
