import calendar
import datetime
import re

import pytest
import torch

from augrnn.tasks.dates import FORMATS, DatesConfig, DatesTask

# How the test reads each format: a strptime pattern, once ordinal suffixes are stripped.
PATTERNS = [
    "%B %d, %Y",
    "%B %d, %Y",
    "%d %B %Y",
    "%d of %B %Y",
    "%b %d, %Y",
    "%d %b %Y",
    "%A, %B %d, %Y",
    "%a, %d %b %Y",
    "%A %d %B %Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d-%b-%Y",
    "%B %d, %Y",
    "%d %b %Y",
    "%B %d, %Y",
]
ORDINAL_FORMATS = {1, 3, 8, 13}
WEEKDAY_FORMATS = {6, 7, 8}
# The shapes of the formats that write their numeric fields with two digits.
ZERO_PADDED_FORMATS = {
    9: r"\d\d/\d\d/\d{4}",
    10: r"\d\d\.\d\d\.\d{4}",
    11: r"\d{4}/\d\d/\d\d",
    14: r"\d\d [A-Z]{3} \d{4}",
}
SUFFIXES = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}
LOWER_CASE_FORMATS = {13}
UPPER_CASE_FORMATS = {14, 15}
ORDINAL = re.compile(r"(\d+)(st|nd|rd|th)\b")


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def read_date(source: str, format_number: int) -> datetime.date:
    """The date a source says, read by the test's own patterns, checking the format's details."""
    ordinals = ORDINAL.findall(source)
    assert bool(ordinals) == (format_number in ORDINAL_FORMATS), source
    date = datetime.datetime.strptime(ORDINAL.sub(r"\1", source), PATTERNS[format_number]).date()
    for day, suffix in ordinals:
        assert int(day) == date.day
        assert suffix == SUFFIXES.get(date.day, "th")
    if format_number in WEEKDAY_FORMATS:
        weekday = source.split()[0].rstrip(",")
        assert weekday in (calendar.day_name[date.weekday()], calendar.day_abbr[date.weekday()])
    if format_number in ZERO_PADDED_FORMATS:
        assert re.fullmatch(ZERO_PADDED_FORMATS[format_number], source), source
    if format_number in LOWER_CASE_FORMATS:
        assert source == source.lower()
    elif format_number in UPPER_CASE_FORMATS:
        assert source == source.upper()
    else:
        assert any(c.isupper() for c in source) or not any(c.isalpha() for c in source)
    return date


def texts(task, batch, b: int) -> tuple[str, str]:
    return task.source_vocab.decode(batch.inputs[:, b]), task.decode_target(batch.targets[:, b])


def test_targets_are_the_iso_dates_the_sources_say():
    task = DatesTask()
    batch = task.sample(200, gen(0))
    assert set(batch.lengths.tolist()) == set(range(16))
    years = set()
    for b in range(200):
        source, target = texts(task, batch, b)
        date = read_date(source, int(batch.lengths[b]))
        assert target == date.isoformat() and re.fullmatch(r"\d{4}-\d\d-\d\d", target)
        assert not re.fullmatch(r"\d{4}-\d\d-\d\d", source)
        years.add(date.year)
    assert min(years) >= 1950 and max(years) <= 2049 and len(years) > 50


@pytest.mark.parametrize("format_number", range(16))
def test_fixed_format(format_number):
    task = DatesTask()
    batch = task.sample(8, gen(format_number), length=format_number)
    assert torch.all(batch.lengths == format_number)
    assert batch.targets.shape == (11, 8) and batch.mask.eq(1).all()
    for b in range(8):
        source, target = texts(task, batch, b)
        assert read_date(source, format_number).isoformat() == target


def test_every_source_names_one_date():
    first = datetime.date(1999, 1, 1)
    meaning = {}
    for offset in range(366 * 2):
        date = first + datetime.timedelta(days=offset)
        for _, write in FORMATS:
            assert meaning.setdefault(write(date), date) == date


def test_formats_and_vocabularies_are_fixed():
    task = DatesTask()
    assert len(task.format_names) == len(set(task.format_names)) == 16
    assert task.train_lengths == (0, 15) and task.length_name == "format"
    assert task.target_vocab.symbols == tuple("0123456789-")
    narrow = DatesTask(DatesConfig(min_year=2000, max_year=2000))
    assert narrow.source_vocab.symbols == task.source_vocab.symbols
    assert {"J", "j", " ", ",", "/", ".", "-"} <= set(task.source_vocab.symbols)
    batch = narrow.sample(50, gen(1))
    assert all(texts(narrow, batch, b)[1].startswith("2000-") for b in range(50))


def test_invalid_formats_are_refused():
    task = DatesTask()
    with pytest.raises(ValueError, match="format must be between 0 and 15"):
        task.sample(2, gen(2), length=16)
    with pytest.raises(ValueError, match="dates format must be >= 0"):
        task.sample(2, gen(2), length=-1)


@pytest.mark.parametrize(
    "config",
    [
        dict(min_year=2001, max_year=2000),
        dict(min_year=999),
        dict(max_year=10000),
    ],
)
def test_bad_settings_are_refused(config):
    with pytest.raises(
        ValueError,
        match=r"1000 <= min_year <= max_year <= 9999|_year must be an integer in \[1000, 9999\]",
    ):
        DatesTask(DatesConfig(**config))


def test_prediction_sources_are_checked_against_the_training_distribution():
    task = DatesTask()
    assert task.source_notes("March 3, 1999") == []
    # "Wednesday, September 27, 2049": the longest weekday and month names, a two-digit day
    assert task.longest_source == 29
    batch = task.sample(500, gen(3))
    assert max(len(texts(task, batch, b)[0]) for b in range(500)) <= 29
    for text in ("", "   "):
        with pytest.raises(ValueError, match="dates needs a source text"):
            task.source_notes(text)
    with pytest.raises(ValueError, match="'\\?'"):
        task.source_notes("March 3?")
    assert "outside the years trained on" in task.source_notes("March 3, 2150")[0]
    assert "no four-digit year" in task.source_notes("March 3")[0]
    assert "spaces before or after" in task.source_notes(" March 3, 1999")[0]
    assert "more than any training date" in task.source_notes("March 3, 1999" + " 1999" * 9)[0]


def test_impossible_or_malformed_outputs_are_named():
    task = DatesTask()
    assert task.output_problem("x", "1999-03-03") is None
    assert task.output_problem("x", "2023-02-30") == "not a valid date"
    assert task.output_problem("x", "2023-2-3") is not None
    assert task.output_problem("x", "") == "no output"
