"""What the benchmark scripts share: the timer, the common options and the report's output."""

from __future__ import annotations

import argparse
import json
import time

import torch


def seconds(step) -> float:
    """Wall time of one call of ``step``."""
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """--repeats, --threads and --json, the same in every benchmark."""
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--json", help="also write the results to this JSON file")


def set_threads(args: argparse.Namespace) -> None:
    if args.threads is not None:
        torch.set_num_threads(args.threads)


def finish(report: dict, json_path: str | None) -> None:
    """Write ``report`` to ``json_path`` when given, and print it as one JSON line."""
    if json_path:
        with open(json_path, "w") as f:
            json.dump(report, f, indent=2)
    print(json.dumps(report))
