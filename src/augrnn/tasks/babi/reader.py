"""A reader for the bAbI files (Weston et al. 2015) in their standard format: numbered lines, a
story starting again at line 1; a question line holds the question, a tab, the answer (words
joined by commas for a list) and a tab, then the numbers of its supporting lines:

    1 Mary moved to the bathroom.
    2 John went to the hallway.
    3 Where is Mary? <TAB> bathroom <TAB> 1

Each question becomes one :class:`~augrnn.tasks.babi.stories.Example` whose story is the
statements of its story before it (question lines left out, supports renumbered to match).
Words are lowercased and stripped of the closing full stop or question mark.
"""

from __future__ import annotations

import re
from pathlib import Path

from augrnn.tasks.babi.stories import Example

#: The bAbI file names: qa{type}_{name}_{train|test}.txt.
TYPE_IN_NAME = re.compile(r"qa(\d+)_")


def tokens(text: str) -> tuple[str, ...]:
    return tuple(text.lower().replace(".", " ").replace("?", " ").split())


def read_file(path: str | Path) -> list[Example]:
    """The questions of one bAbI file, each with its story so far.

    Raises ``ValueError`` naming the file and line for a line that is not in the format.
    """
    path = Path(path)
    match = TYPE_IN_NAME.search(path.name)
    task_type = int(match.group(1)) if match else 0
    examples: list[Example] = []
    statements: list[tuple[str, ...]] = []
    line_to_statement: dict[int, int] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue

        def bad(why: str, raw: str = raw, number: int = number) -> ValueError:
            return ValueError(f"{path}, line {number}: {why}: {raw!r}")

        head, _, text = raw.partition(" ")
        if not head.isdigit() or not text.strip():
            raise bad("expected a line number, a space and a sentence")
        line_id = int(head)
        if line_id == 1:
            statements, line_to_statement = [], {}
        if "\t" not in text:
            line_to_statement[line_id] = len(statements)
            statements.append(tokens(text))
            continue
        fields = text.split("\t")
        if len(fields) < 2 or not fields[1].strip():
            raise bad("expected a question, a tab, the answer and a tab before the supports")
        supports_text = fields[2].split() if len(fields) > 2 else []
        if not all(s.isdigit() for s in supports_text):
            raise bad("supporting line numbers must be whole numbers")
        missing = [int(s) for s in supports_text if int(s) not in line_to_statement]
        if missing:
            raise bad(f"supporting line {missing[0]} is not a statement of this story")
        examples.append(
            Example(
                tuple(statements),
                tokens(fields[0]),
                fields[1].strip().lower(),
                tuple(sorted(line_to_statement[int(s)] for s in supports_text)),
                task_type,
            )
        )
    if not examples:
        raise ValueError(f"{path}: no questions found (is it a bAbI file?)")
    return examples


def read_path(path: str | Path, split: str) -> list[Example]:
    """The examples of ``split`` ("train" or "test"): a file is read as it is; a folder
    gives every ``*_{split}.txt`` in it, in name order."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no bAbI file or folder at {path}")
    if path.is_file():
        return read_file(path)
    files = sorted(path.glob(f"*_{split}.txt"))
    if not files:
        raise ValueError(f"{path} holds no bAbI files named *_{split}.txt")
    return [example for file in files for example in read_file(file)]
