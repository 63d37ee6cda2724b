"""Probe the command line and the library with the inputs users get wrong, and say how each is met.

    python benchmarks/robustness.py [--src DIR] [--json FILE]

Each probe runs in a fresh subprocess (``python -m augrnn.cli ...`` or a short script) on tiny
runs trained first, and is scored as one of:

- ``right``: what a user should get: a one-line error that names the problem, a note, or the
  input handled correctly;
- ``traceback``: a Python stack trace instead of a message;
- ``silent``: it exits 0 but the result is wrong or misleading (the check says how).
- ``error``: an error message where the input should have been handled;
- ``unclear``: in the library, an error that does not name the setting at fault (torch's own).

``--src`` runs the probes against another source tree (e.g. an older checkout's ``src``) with the
same interpreter, to compare before and after. Prints a markdown table; takes about two minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TINY = [
    "--task.bits=3",
    "--task.max_length=3",
    "--model.controller_size=8",
    "--model.memory_slots=8",
    "--model.memory_width=4",
    "--train.steps=4",
    "--train.eval_every=2",
    "--train.eval_sequences=16",
    "--train.tensorboard=false",
    "--no-progress",
]
TINY_TEXT = [
    "--model.hidden_size=16",
    "--model.embedding_size=8",
    "--train.steps=2",
    "--train.eval_every=2",
    "--train.eval_sequences=8",
    "--train.tensorboard=false",
    "--no-progress",
]
TINY_TABLE = [
    "--task.min_rows=3",
    "--task.max_rows=5",
    "--model.hidden_size=8",
    "--model.embedding_size=8",
    "--train.steps=2",
    "--train.eval_every=2",
    "--train.eval_sequences=8",
    "--train.batch_size=4",
    "--train.tensorboard=false",
    "--no-progress",
]


LIBRARY_ERRORS = ("ValueError: ", "TypeError: ")


@dataclass
class Outcome:
    code: int
    output: str


class Prober:
    def __init__(self, src: Path | None, work: Path):
        self.env = dict(os.environ, PYTHONWARNINGS="ignore")
        if src is not None:
            self.env["PYTHONPATH"] = str(src)
        self.work = work

    def cli(self, *args: str) -> Outcome:
        return self._run([sys.executable, "-m", "augrnn.cli", *args])

    def python(self, code: str) -> Outcome:
        return self._run([sys.executable, "-c", textwrap.dedent(code)])

    def _run(self, command: list[str]) -> Outcome:
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, env=self.env, cwd=self.work, timeout=180
            )
        except subprocess.TimeoutExpired:
            return Outcome(0, "(still running after 3 minutes: stopped)")
        return Outcome(done.returncode, done.stdout + done.stderr)

    def train(self, name: str, preset: str, *args: str) -> Path:
        run = self.work / name
        shutil.rmtree(run, ignore_errors=True)
        outcome = self.cli("train", preset, "--run-dir", str(run), *args)
        if outcome.code != 0:
            raise RuntimeError(f"training {preset} failed:\n{outcome.output}")
        return run


def classify(
    outcome: Outcome,
    expect_error: bool,
    check: Callable[[Outcome], bool] | None,
    names: str | None = None,
) -> str:
    """``right``, ``traceback``, ``unclear``, ``silent`` or ``error`` (see the module). In the
    library, an error is right when it is a ``ValueError`` or ``TypeError`` (the exceptions that
    say the input is wrong) whose message names the setting at fault (``names``), unclear when
    it does not, a traceback when it is any other exception."""
    lines = outcome.output.strip().splitlines()
    if expect_error and lines and lines[-1].startswith(LIBRARY_ERRORS):
        return "right" if names is None or names in lines[-1] else "unclear"
    if "Traceback" in outcome.output:
        return "traceback"
    if expect_error:
        return "right" if outcome.code != 0 else "silent"
    if outcome.code != 0:
        return "traceback" if "Error" not in outcome.output else "error"
    return "right" if check is None or check(outcome) else "silent"


def torch_load(path: Path) -> str:
    return f"torch.load({str(path)!r}, weights_only=True)"


def probes(p: Prober) -> list[tuple[str, str]]:
    """(probe, outcome) for every probe."""
    results: list[tuple[str, str]] = []

    def record(name: str, outcome: Outcome, expect_error: bool, check=None, names=None) -> None:
        results.append((name, classify(outcome, expect_error, check, names)))

    copy = p.train("copy", "copy", *TINY)

    # -- silent or misleading
    run = p.work / "copy_lr"
    shutil.copytree(copy, run)
    p.cli("resume", str(run), "--no-progress", "--train.steps=6", "--optim.lr=0.003")
    lr = p.python(
        f"import torch; print({torch_load(run / 'checkpoint.pt')}"
        "['optimizer']['param_groups'][0]['lr'])"
    )
    record(
        "`resume --optim.lr=0.003` trains with the new rate",
        lr,
        False,
        lambda o: o.output.strip() == "0.003",
    )

    diverged = p.work / "diverged"
    out = p.cli(
        "train",
        "copy",
        "--run-dir",
        str(diverged),
        *TINY,
        "--optim.name=adam",
        "--optim.lr=1e30",
        "--optim.clip_value=none",
        "--train.steps=40",
    )

    def honest(o: Outcome) -> bool:
        if not (diverged / "checkpoint.pt").exists():
            return "last good checkpoint is kept" not in out.output
        finite = p.python(
            f"import torch; s={torch_load(diverged / 'checkpoint.pt')}['model'];"
            "print(all(bool(torch.isfinite(v).all()) for v in s.values()))"
        )
        return finite.output.strip() == "True"

    results.append(
        (
            "a run that diverges keeps no NaN checkpoint and says what it kept",
            "traceback" if "Traceback" in out.output else ("right" if honest(out) else "silent"),
        )
    )

    for override in ("--train.steps=-5", "--train.eval_every=-1", "--optim.lr=-1"):
        steps = [] if "steps" in override else ["--train.steps=4"]
        run_dir = str(p.work / "x")
        outcome = p.cli("train", "copy", "--run-dir", run_dir, *TINY, *steps, override)
        record(f"`train copy {override}`", outcome, True)
        shutil.rmtree(p.work / "x", ignore_errors=True)

    other = p.train(
        "parity",
        "parity_rnn",
        "--train.steps=2",
        "--train.eval_every=2",
        "--train.eval_sequences=8",
        "--no-progress",
        "--train.tensorboard=false",
    )
    swapped = p.work / "swapped"
    shutil.copytree(copy, swapped)
    shutil.copy(other / "checkpoint.pt", swapped / "checkpoint.pt")
    record(
        "a checkpoint of another preset copied into a run folder: `resume`",
        p.cli("resume", str(swapped), "--no-progress"),
        True,
    )
    record("... and `eval`", p.cli("eval", str(swapped)), True)

    dates = p.train("dates", "dates", *TINY_TEXT)
    record("`predict` a whitespace-only date", p.cli("predict", str(dates), "   "), True)
    record(
        "`predict` a date of 1850 (trained 1950-2049) says it is outside training",
        p.cli("predict", str(dates), "March 3, 1850"),
        False,
        lambda o: "outside" in o.output,
    )
    record(
        "`predict` a date 5x longer than any trained says so",
        p.cli("predict", str(dates), "March 3, 1999" + " 1999" * 20),
        False,
        lambda o: "more than any" in o.output,
    )

    table = p.train("table", "table_qa_single", *TINY_TABLE)
    csv = p.work / "nan.csv"
    csv.write_text("price\n1\nnan\n3\n")
    record(
        "`ask` about a table with a `nan` cell",
        p.cli("ask", str(table), "--table", str(csv), "what is the sum of price"),
        True,
    )
    csv.write_text("price\n1\n1e400\n3\n")
    record(
        "`ask` about a table with an overflowing cell",
        p.cli("ask", str(table), "--table", str(csv), "what is the sum of price"),
        True,
    )

    record(
        "ACT core given a NaN input",
        p.python("""
        import torch
        from augrnn.act import ACTConfig
        from augrnn.controllers import LSTMConfig
        from augrnn.registry import build_core
        core = build_core(ACTConfig(core=LSTMConfig(hidden_size=8)), 3, 2)
        core(torch.full((2, 3), float("nan")), core.initial_state(2))
    """),
        True,
    )
    record(
        "`masked_softmax` of a row of -inf under a true mask",
        p.python("""
        import torch
        from augrnn.addressing import masked_softmax
        w = masked_softmax(torch.full((1, 3), float("-inf")), torch.ones(1, 3, dtype=torch.bool))
        print(bool(torch.isfinite(w).all()))
    """),
        False,
        lambda o: o.output.strip().endswith("True"),
    )

    # -- run folder durability
    orphaned = p.work / "orphan"
    shutil.copytree(copy, orphaned)
    (orphaned / ".checkpoint-killed.tmp").write_bytes(b"half")
    out = p.cli("resume", str(orphaned), "--no-progress", "--train.steps=6")
    record(
        "an orphan `.checkpoint-*.tmp` is removed on resume",
        out,
        False,
        lambda o: not (orphaned / ".checkpoint-killed.tmp").exists(),
    )

    torn = p.work / "torn"
    shutil.copytree(copy, torn)
    at_4 = (torn / "checkpoint.pt").read_bytes()
    p.cli("resume", str(torn), "--no-progress", "--train.steps=6", "--train.log_every=1")
    (torn / "checkpoint.pt").write_bytes(at_4)  # killed before the step-6 checkpoint
    with (torn / "metrics.jsonl").open("a") as f:
        f.write('{"split": "train", "step": 7, "seq')
    p.cli("resume", str(torn), "--no-progress", "--train.steps=8", "--train.log_every=1")

    def logged_once(o: Outcome) -> bool:
        lines = (torn / "metrics.jsonl").read_text().splitlines()
        try:
            records = [json.loads(line) for line in lines]
        except json.JSONDecodeError:
            return False
        steps = [r["step"] for r in records if r["split"] == "train"]
        return len(steps) == len(set(steps))

    record(
        "metrics.jsonl after a kill mid-line and a resume: each step once, readable",
        Outcome(0, ""),
        False,
        logged_once,
    )
    record("... and `viz` of that run", p.cli("viz", str(torn)), False)

    # -- tracebacks
    for override in (
        "--train.eval_every=0",
        "--train.log_every=0",
        "--train.eval_sequences=0",
        "--train.device=tpu",
        "--model.memory_slots=100000000000",
    ):
        record(
            f"`train copy {override}`",
            p.cli("train", "copy", "--run-dir", str(p.work / "y"), *TINY, override),
            True,
        )
        shutil.rmtree(p.work / "y", ignore_errors=True)
    tampered = p.work / "tampered"
    shutil.copytree(copy, tampered)
    p.python(f"""
        import torch
        s = {torch_load(tampered / "checkpoint.pt")}
        s["model"] = {{k: v[..., :1] for k, v in s["model"].items()}}
        torch.save(s, {str(tampered / "checkpoint.pt")!r})
    """)
    record("`eval` of weights that do not fit their config", p.cli("eval", str(tampered)), True)
    csv.write_text("price\n1\n2\n3\n")
    picture = p.work / "missing" / "folder" / "p.png"
    record(
        "`ask --picture` into a missing folder",
        p.cli(
            "ask",
            str(table),
            "--table",
            str(csv),
            "what is the sum of price",
            "--picture",
            str(picture),
        ),
        False,
        lambda o: picture.is_file(),
    )
    record(
        "library: `task.sample(0, g)`",
        p.python("""
        import torch
        from augrnn.tasks.copy import CopyTask
        CopyTask().sample(0, torch.Generator())
    """),
        True,
        names="batch_size",
    )
    record(
        "library: a model given a sequence of length 0",
        p.python("""
        import torch
        from augrnn.memory.ntm import NTMConfig
        from augrnn.registry import build_model
        build_model(NTMConfig(), 3, 2)(torch.zeros(0, 2, 3))
    """),
        True,
        names="step",
    )
    record(
        "library: `CopyTask().sample(2, g, length=3.5)`",
        p.python("""
        import torch
        from augrnn.tasks.copy import CopyTask
        CopyTask().sample(2, torch.Generator(), length=3.5)
    """),
        True,
        names="length",
    )
    record(
        "library: `LSTMController(3, 2.5)`",
        p.python("""
        from augrnn.controllers import LSTMController
        LSTMController(3, 2.5)
    """),
        True,
        names="hidden_size",
    )
    record(
        "library: `NTMConfig(memory_slots=2.5)`",
        p.python("""
        from augrnn.memory.ntm import NTMConfig
        from augrnn.registry import build_model
        build_model(NTMConfig(memory_slots=2.5), 3, 2)
    """),
        True,
        names="memory_slots",
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, help="run against this source tree instead")
    parser.add_argument("--json", type=Path, help="also write the outcomes to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        results = probes(Prober(args.src, Path(work)))
    print("| probe | outcome |\n|---|---|")
    for name, outcome in results:
        print(f"| {name} | {outcome} |")
    if args.json:
        args.json.write_text(json.dumps(dict(results), indent=1))


if __name__ == "__main__":
    main()
