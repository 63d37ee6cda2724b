"""MkDocs hooks: pages written from the code itself, so that they cannot drift from it.

``<!-- augrnn:cli -->`` becomes the help of every command of ``augrnn`` (its own and those its
model kinds add), ``<!-- augrnn:tasks -->`` one section per registered task with an example
drawn as ``augrnn tasks`` draws it, ``<!-- augrnn:presets -->`` a table of the presets with the
first sentence of each one's comment, ``<!-- augrnn:results -->`` RESULTS.md.
"""

from __future__ import annotations

from pathlib import Path

import click
import torch


def _cli_reference() -> str:
    from augrnn.cli import main

    parts = []
    with click.Context(main, info_name="augrnn") as parent:
        parts.append(f"```text\n{main.get_help(parent)}\n```\n")
        for name in sorted(main.commands):
            command = main.commands[name]
            with click.Context(command, info_name=name, parent=parent) as context:
                parts.append(f"## augrnn {name}\n\n```text\n{command.get_help(context)}\n```\n")
    return "\n".join(parts)


def _task_reference() -> str:
    from augrnn.registry import tasks

    generator = torch.Generator().manual_seed(0)
    parts = []
    for name, cls in tasks.items():
        parts.append(f"## {name}\n\n{cls.description}.\n")
        try:
            task = cls()
        except ImportError as err:
            parts.append(f"(Its data need an extra package: {err}.)\n")
            continue
        low, high = task.train_lengths
        parts.append(
            f"{task.sizes_text()}; {task.length_name} {low}-{high} in training. "
            f"Settings: `{cls.config_class.__module__}.{cls.config_class.__name__}`.\n"
        )
        parts.append(f"```text\n{task.showcase(generator)}\n```\n")
    return "\n".join(parts)


def _preset_reference() -> str:
    from augrnn.registry import describe_model
    from augrnn.train.config import load_preset, preset_names, presets_dir

    rows = ["| preset | model | task | what it is |", "|---|---|---|---|"]
    for name in preset_names():
        config = load_preset(name)
        lines = (presets_dir() / f"{name}.toml").read_text().splitlines()
        comment = " ".join(line.lstrip("# ").strip() for line in lines if line.startswith("#"))
        first = comment.split(". ")[0].rstrip(".").replace("|", "/")
        rows.append(
            f"| `{name}` | {describe_model(config.model)} | {config.task_name} | {first}. |"
        )
    return "\n".join(rows) + "\n"


def _results() -> str:
    """RESULTS.md from the repository's root, whose image links (docs/...) are made relative to
    the page."""
    text = (Path(__file__).parents[2] / "RESULTS.md").read_text(encoding="utf-8")
    return text.replace("](docs/", "](")


GENERATED = {
    "<!-- augrnn:cli -->": _cli_reference,
    "<!-- augrnn:tasks -->": _task_reference,
    "<!-- augrnn:presets -->": _preset_reference,
    "<!-- augrnn:results -->": _results,
}


def on_page_markdown(markdown: str, page, config, files) -> str:
    for marker, write in GENERATED.items():
        if marker in markdown:
            markdown = markdown.replace(marker, write())
    return markdown
