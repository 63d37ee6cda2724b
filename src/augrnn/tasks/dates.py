"""Dates: read a date as people write it, then write it in ISO 8601, "YYYY-MM-DD".

Source: a day drawn uniformly from min_year-01-01 .. max_year-12-31 (1950 to 2049 by default),
written in one of the formats of :data:`FORMATS` (numbered 0 .. 15, named in
:attr:`DatesTask.format_names`): month names full and abbreviated, the day with and without an
ordinal suffix, with and without its weekday (always the right one), numeric orders told apart
by their separators (month/day/year with "/", day.month.year with ".", year/month/day), in title,
lower and upper case. No format writes the ISO form itself. Target: the ISO date, then EOS.

``lengths`` holds each episode's format number, drawn uniformly in training; the ``length``
argument of :meth:`DatesTask.sample` fixes it, to score a model format by format. Token-id shapes
as for every :class:`~augrnn.tasks.text.Seq2SeqTask`: inputs (S, B) with S the longest source in
the batch, targets (11, B).
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch

from augrnn.settings import Range, between
from augrnn.tasks.base import Batch, TaskConfig, episode_sizes
from augrnn.tasks.text import Seq2SeqTask, Vocabulary

# English names, not the locale's, so the texts are the same on every machine.
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def ordinal(day: int) -> str:
    """1 -> "1st", 2 -> "2nd", 11 -> "11th", 23 -> "23rd"."""
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _month(d: datetime.date) -> str:
    return MONTHS[d.month - 1]


def _weekday(d: datetime.date) -> str:
    return WEEKDAYS[d.weekday()]


#: (name, writer) of each source format; a name shows the format on 3 March 1999.
FORMATS: tuple[tuple[str, Callable[[datetime.date], str]], ...] = (
    ("March 3, 1999", lambda d: f"{_month(d)} {d.day}, {d.year}"),
    ("March 3rd, 1999", lambda d: f"{_month(d)} {ordinal(d.day)}, {d.year}"),
    ("3 March 1999", lambda d: f"{d.day} {_month(d)} {d.year}"),
    ("3rd of March 1999", lambda d: f"{ordinal(d.day)} of {_month(d)} {d.year}"),
    ("Mar 3, 1999", lambda d: f"{_month(d)[:3]} {d.day}, {d.year}"),
    ("3 Mar 1999", lambda d: f"{d.day} {_month(d)[:3]} {d.year}"),
    ("Wednesday, March 3, 1999", lambda d: f"{_weekday(d)}, {_month(d)} {d.day}, {d.year}"),
    ("Wed, 3 Mar 1999", lambda d: f"{_weekday(d)[:3]}, {d.day} {_month(d)[:3]} {d.year}"),
    ("Wednesday 3rd March 1999", lambda d: f"{_weekday(d)} {ordinal(d.day)} {_month(d)} {d.year}"),
    ("03/03/1999", lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}"),
    ("03.03.1999", lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}"),
    ("1999/03/03", lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}"),
    ("3-Mar-1999", lambda d: f"{d.day}-{_month(d)[:3]}-{d.year}"),
    ("march 3rd, 1999", lambda d: f"{_month(d).lower()} {ordinal(d.day)}, {d.year}"),
    ("03 MAR 1999", lambda d: f"{d.day:02d} {_month(d)[:3].upper()} {d.year}"),
    ("MARCH 3, 1999", lambda d: f"{_month(d).upper()} {d.day}, {d.year}"),
)


def _source_symbols() -> list[str]:
    """Every character a format can write, from the name tables rather than from samples: the
    letters of the names and suffixes in both cases, digits and separators."""
    words = [*MONTHS, *WEEKDAYS, "st", "nd", "rd", "th", "of"]
    letters = {c for word in words for c in word.lower()}
    letters |= {c.upper() for c in letters}
    return sorted(letters | set("0123456789 ,./-"))


@dataclass
class DatesConfig(TaskConfig):
    min_year: int = 1950
    max_year: int = 2049

    RANGES: ClassVar[dict[str, Range]] = {
        "min_year": between(1000, 9999),
        "max_year": between(1000, 9999),
    }


class DatesTask(Seq2SeqTask):
    name = "dates"
    description = 'rewrite a date written in one of 16 human formats as ISO 8601 "YYYY-MM-DD"'
    config_class = DatesConfig
    config: DatesConfig
    length_name = "format"
    format_names = tuple(name for name, _ in FORMATS)
    source_vocab = Vocabulary(_source_symbols())
    target_vocab = Vocabulary("0123456789-")

    def __init__(self, config: DatesConfig | None = None):
        super().__init__(config)
        c = self.config
        # Four-digit years keep the ISO form and the written year the same digits.
        if not 1000 <= c.min_year <= c.max_year <= 9999:
            raise ValueError(f"dates needs 1000 <= min_year <= max_year <= 9999, got {c}")
        self.first_day = datetime.date(c.min_year, 1, 1)
        self.days = (datetime.date(c.max_year, 12, 31) - self.first_day).days + 1

    @property
    def train_lengths(self) -> tuple[int, int]:
        return (0, len(FORMATS) - 1)

    def sample(
        self, batch_size: int, generator: torch.Generator, length: int | None = None
    ) -> Batch:
        """Draw episodes; ``length`` fixes the format number (0 .. 15)."""
        if length is not None and length >= len(FORMATS):
            raise ValueError(
                f"dates format must be between 0 and {len(FORMATS) - 1} "
                f"(see DatesTask.format_names), got {length}"
            )
        formats = episode_sizes(
            self.name, batch_size, 0, len(FORMATS) - 1, generator, length,
            name="format", minimum=0,
        )  # fmt: skip
        offsets = torch.randint(0, self.days, (batch_size,), generator=generator)
        dates = [self.first_day + datetime.timedelta(days=n) for n in offsets.tolist()]
        sources = [FORMATS[k][1](d) for k, d in zip(formats.tolist(), dates, strict=True)]
        return self.make_batch(sources, [d.isoformat() for d in dates], formats)

    def describe_size(self, size: int) -> str:
        return f"format {size} ({self.format_names[size]})"

    @functools.cached_property
    def longest_source(self) -> int:
        """The most characters any training source has (each format on the dates of one year
        that give its longest month and weekday names)."""
        year = datetime.date(self.config.max_year, 1, 1)
        days = [year + datetime.timedelta(days=n) for n in range(365)]
        return max(len(write(d)) for _, write in FORMATS for d in days)

    def source_notes(self, text: str) -> list[str]:
        """Besides the checks of every text task: a text longer than any training date, with
        spaces around it, or without a year in the trained range is outside the training
        distribution (its answer is a guess)."""
        notes = super().source_notes(text)
        c = self.config
        if len(text) > self.longest_source:
            notes.append(
                f"{len(text)} characters, more than any training date ({self.longest_source}): "
                "outside the training distribution"
            )
        if text != text.strip():
            notes.append("spaces before or after the date, which no training date has")
        years = [int(y) for y in re.findall(r"(?<!\d)\d{4}(?!\d)", text)]
        if not years:
            notes.append(
                f"no four-digit year: every training date has one, in {c.min_year}-{c.max_year}"
            )
        elif not any(c.min_year <= y <= c.max_year for y in years):
            notes.append(
                f"the year {years[0]} is outside the years trained on ({c.min_year}-"
                f"{c.max_year}): the answer is a guess"
            )
        return notes

    def output_problem(self, source: str, output: str) -> str | None:
        """An output that is not a real date in ISO 8601 form (e.g. 2023-02-30)."""
        try:
            datetime.date.fromisoformat(output)
        except ValueError:
            return "not a valid date" if output else "no output"
        return None if len(output) == 10 else "not in the YYYY-MM-DD form"
