"""What the spoken corpus says: digit strings, spoken dates and short number sentences.

Each kind of transcript is drawn from a :class:`random.Random` and a *size*, the task's length
parameter: the number of digits of a digit string, the number of numbers of a number sentence,
the spoken format of a date. Transcripts are lower-case English words separated by single
spaces, written with the characters of :data:`CHARACTERS` only.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable
from dataclasses import dataclass

from augrnn.tasks.dates import MONTHS, WEEKDAYS

#: Every character a transcript may hold, in vocabulary order.
CHARACTERS = " 'abcdefghijklmnopqrstuvwxyz"

ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ORDINAL_ONES = [
    "zeroth",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
]
ORDINAL_TENS = ["_", "_", "twentieth", "thirtieth"]


def number_words(n: int) -> str:
    """0 <= n < 1,000,000 in British English words: 342 -> "three hundred and forty two"."""
    if not 0 <= n < 1_000_000:
        raise ValueError(f"number_words reads 0 <= n < 1000000, got {n}")
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if n < 1000:
        rest = n % 100
        head = f"{ONES[n // 100]} hundred"
        return head if rest == 0 else f"{head} and {number_words(rest)}"
    rest = n % 1000
    head = f"{number_words(n // 1000)} thousand"
    if rest == 0:
        return head
    return f"{head} and {number_words(rest)}" if rest < 100 else f"{head} {number_words(rest)}"


def ordinal_words(n: int) -> str:
    """1 <= n <= 31 as an ordinal: 23 -> "twenty third"."""
    if not 1 <= n <= 31:
        raise ValueError(f"ordinal_words reads days 1 to 31, got {n}")
    if n < 20:
        return ORDINAL_ONES[n]
    if n % 10 == 0:
        return ORDINAL_TENS[n // 10]
    return f"{TENS[n // 10]} {ORDINAL_ONES[n % 10]}"


def year_words(year: int) -> str:
    """A year as people say it: 1999 -> "nineteen ninety nine", 2005 -> "two thousand and five",
    2019 -> "twenty nineteen", 1905 -> "nineteen oh five"."""
    if 2000 <= year <= 2009:
        return number_words(year)
    high, low = divmod(year, 100)
    if low == 0:
        return f"{number_words(high)} hundred"
    tail = f"oh {ONES[low]}" if low < 10 else number_words(low)
    return f"{number_words(high)} {tail}"


def digit_string(size: int, rng: random.Random) -> str:
    """``size`` random digits, read one by one: "three one four"."""
    return " ".join(ONES[rng.randrange(10)] for _ in range(size))


#: The spoken date formats, by size (0 ..): a date written as people say it.
DATE_FORMATS: tuple[Callable[[datetime.date], str], ...] = (
    lambda d: f"{MONTHS[d.month - 1]} {ordinal_words(d.day)}",
    lambda d: f"the {ordinal_words(d.day)} of {MONTHS[d.month - 1]}",
    lambda d: f"{MONTHS[d.month - 1]} {ordinal_words(d.day)} {year_words(d.year)}",
    lambda d: f"the {ordinal_words(d.day)} of {MONTHS[d.month - 1]} {year_words(d.year)}",
    lambda d: (
        f"{WEEKDAYS[d.weekday()]} the {ordinal_words(d.day)} of {MONTHS[d.month - 1]} "
        f"{year_words(d.year)}"
    ),
)


def spoken_date(size: int, rng: random.Random) -> str:
    """A day of 1950-2049 in spoken format ``size``: "the third of march nineteen ninety nine"."""
    first = datetime.date(1950, 1, 1)
    day = first + datetime.timedelta(days=rng.randrange(36525))
    return DATE_FORMATS[size](day).lower()


SENTENCE_NOUNS = [
    "apples",
    "boxes",
    "cars",
    "days",
    "people",
    "pounds",
    "steps",
    "trains",
    "votes",
    "weeks",
]


def number_sentence(size: int, rng: random.Random) -> str:
    """A short sentence with ``size`` numbers below a thousand: "forty two apples",
    "add seven and three hundred and five", "nine plus twelve makes twenty one"."""
    numbers = [number_words(rng.randrange(1000)) for _ in range(size)]
    if size == 1:
        return f"{numbers[0]} {rng.choice(SENTENCE_NOUNS)}"
    if size == 2:
        verb = rng.choice(("add", "take", "multiply", "compare"))
        return f"{verb} {numbers[0]} and {numbers[1]}"
    return " then ".join(numbers)


@dataclass(frozen=True)
class TranscriptKind:
    """A kind of transcript: ``draw(size, rng)`` and the sizes it knows.

    sizes: the (smallest, largest) size ``draw`` accepts; None: no largest.
    size_name: what a size counts, for messages and renderings.
    """

    draw: Callable[[int, random.Random], str]
    sizes: tuple[int, int | None]
    size_name: str


TRANSCRIPTS: dict[str, TranscriptKind] = {
    "digits": TranscriptKind(digit_string, (1, None), "digits"),
    "dates": TranscriptKind(spoken_date, (0, len(DATE_FORMATS) - 1), "format"),
    "numbers": TranscriptKind(number_sentence, (1, None), "numbers"),
}
