"""What every benchmark shares: the options, the alternating timer, peak memory and the report.

Timing: the contenders of one setting are called in turn inside every repeat (A, B, C, A, B, C,
...), so machine noise hits all alike, after ``warmup`` untimed calls each; each timing covers
consecutive calls of one contender lasting at least ``min_time`` (0.05 s) and gives the time per
call; a benchmark reports the median over repeats.

Peak memory of a contender is the most memory its training steps need above what is resident
just before them (the model, its data and, after one untimed warm-up step, the optimiser's state
and any compiled code), in bytes:

- on CUDA, ``torch.cuda.max_memory_allocated()`` during the steps minus
  ``torch.cuda.memory_allocated()`` before them, in this process;
- on CPU, in a fresh Python process per contender (so no memory freed by an earlier contender is
  reused): the peak resident set size during the steps minus the resident set size before them,
  with the heap's free pages handed back (glibc's ``malloc_trim``) after the warm-up step.
  The peak is the kernel's high-water mark (``VmHWM``), reset just before the steps through
  ``/proc/self/clear_refs`` where Linux allows it; elsewhere it is ``getrusage(RUSAGE_SELF)
  .ru_maxrss``, which also covers the building of the model (the report names the method).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import torch


def adam(params: Any, lr: float) -> torch.optim.Adam:
    """Adam with its fused kernel, as the trainer runs it (``train.loop.build_optimizer``)."""
    return torch.optim.Adam(params, lr=lr, fused=True)


#: A contender's training step (one call: one step). It may return its own time in seconds when
#: only part of the call is to be timed; otherwise the whole call is timed.
Step = Callable[[], "float | None"]


def adam_step(loss: Callable[[], torch.Tensor], params: Any, lr: float) -> Step:
    """A training step: ``loss()`` (the forward pass), its backward pass and an :func:`adam`
    step over ``params`` (parameters or parameter groups)."""
    optimizer = adam(params, lr=lr)

    def step() -> None:
        value = loss()
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()

    return step


def controller_alone_loss(
    cell: torch.nn.LSTMCell, readout: torch.nn.Module, inputs: torch.Tensor
) -> Callable[[], torch.Tensor]:
    """The forward pass of a model's controller run alone, the baseline of a model that drives
    its controller step by step: ``cell`` unrolled over ``inputs`` (T, B, input_size) with
    ``readout`` applied at every step; the loss is the sum over steps of the read-out's mean."""

    def loss() -> torch.Tensor:
        state = None
        total = inputs.new_zeros(())
        for x in inputs:
            state = cell(x, state)
            total = total + readout(state[0]).mean()
        return total

    return loss


@dataclass
class Options:
    """Settings every benchmark takes.

    batch_sizes: None for the benchmark's own default.
    repeats:     timed calls per contender (the figures are medians over them).
    warmup:      untimed calls per contender before timing.
    memory:      also measure each contender's peak memory (on CPU: one process per contender).
    compile:     also time the ``torch.compile``d variants where a benchmark has them (each
                 compiles for tens of seconds on a CPU before its timing starts).
    device:      "cpu" or "cuda".
    threads:     torch's CPU threads; also used by the processes that measure memory.
    """

    batch_sizes: Sequence[int] | None = None
    repeats: int = 15
    warmup: int = 3
    memory: bool = True
    compile: bool = True
    device: str = "cpu"
    threads: int | None = None
    #: How many steps the memory measurement runs after its warm-up step.
    memory_steps: int = 2
    #: Each timing covers consecutive calls lasting at least this long (see time_alternating).
    min_time: float = 0.05

    def __post_init__(self) -> None:
        if self.repeats < 1:
            raise ValueError(f"repeats must be >= 1, got {self.repeats}")
        if self.warmup < 0:
            raise ValueError(f"warmup must be >= 0, got {self.warmup}")
        if self.batch_sizes is not None and (
            not self.batch_sizes or any(b < 1 for b in self.batch_sizes)
        ):
            raise ValueError(f"batch sizes must be positive integers, got {self.batch_sizes}")
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {self.device!r}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device 'cuda' was asked for but torch sees no CUDA device")
        if self.min_time < 0:
            raise ValueError(f"min_time must be >= 0 seconds, got {self.min_time}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")

    def sizes(self, default: Sequence[int]) -> list[int]:
        return list(default if self.batch_sizes is None else self.batch_sizes)


def set_threads(threads: int | None) -> None:
    if threads is not None:
        torch.set_num_threads(threads)


def _synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def call_seconds(step: Step, device: str = "cpu") -> float:
    """Wall time of one call of ``step``, or the time it returns itself."""
    _synchronize(device)
    start = time.perf_counter()
    own = step()
    _synchronize(device)
    return own if own is not None else time.perf_counter() - start


def time_alternating(
    steps: dict[str, Step], repeats: int, warmup: int, device: str = "cpu", min_time: float = 0.0
) -> dict[str, float]:
    """The median seconds per call of each of ``steps``, called in turn within every repeat.

    With ``min_time`` > 0 each timing covers enough consecutive calls of one step (counted from
    its last warm-up call) to last about ``min_time`` seconds and gives their mean: on a busy
    machine a call of a millisecond is either interrupted or not, while a longer window gets
    every contender the same share of the processor."""
    calls = dict.fromkeys(steps, 1)
    for _ in range(warmup):
        for name, step in steps.items():
            start = time.perf_counter()
            call_seconds(step, device)
            # Wall time, not the time a step reports of itself (which may cover a part of it).
            wall = time.perf_counter() - start
            calls[name] = max(1, math.ceil(min_time / max(wall, 1e-9)))
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            n = calls[name]
            times[name].append(sum(call_seconds(step, device) for _ in range(n)) / n)
    return {name: statistics.median(t) for name, t in times.items()}


def environment(options: Options) -> dict[str, Any]:
    """What a figure depends on besides the code: versions, threads, machine, settings."""
    return {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "processor": cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_count": os.cpu_count(),
        "device": options.device
        if options.device == "cpu"
        else torch.cuda.get_device_name(torch.cuda.current_device()),
        "repeats": options.repeats,
        "warmup": options.warmup,
        "min_time_s": options.min_time,
        "memory_method": memory_method(options.device) if options.memory else None,
    }


def cpu_model(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The processor's model name: Linux's ``model name`` line, else ``platform.processor()``
    (often empty on Linux, hence the file). Ratios between contenders move with it, since
    memory-bound kernels and matrix products scale differently from one processor to another."""
    with contextlib.suppress(OSError), open(cpuinfo) as lines:
        for line in lines:
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    return platform.processor()


# -- peak memory -----------------------------------------------------------------------------


def memory_method(device: str) -> str:
    if device == "cuda":
        return "cuda max_memory_allocated during the steps minus memory_allocated before them"
    if _reset_peak():
        return "fresh process per contender: VmHWM (reset by clear_refs) minus VmRSS before"
    return "fresh process per contender: ru_maxrss minus the resident size before the steps"


def _status_kib(field_name: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset this process's peak resident size (VmHWM); False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return _status_kib("VmHWM") is not None


def _release_free_memory() -> None:
    """Hand the heap's free pages back to the kernel (glibc's malloc_trim), so that memory the
    warm-up step freed does not hide what the measured steps allocate."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


def _rusage_peak_kib() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB elsewhere


def measure_step_memory(step: Step, steps: int, device: str) -> int:
    """Bytes above the memory resident before ``steps`` calls of ``step`` (after one warm-up
    call) that those calls needed at their peak, in this process."""
    step()
    gc.collect()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - before
    _release_free_memory()
    resettable = _reset_peak()
    before_kib = _status_kib("VmRSS") or 0
    for _ in range(steps):
        step()
    peak_kib = _status_kib("VmHWM") if resettable else _rusage_peak_kib()
    return max(int(peak_kib or 0) - before_kib, 0) * 1024


def with_defaults(
    benchmark: str, defaults: dict[str, Any], sizes: dict[str, Any]
) -> dict[str, Any]:
    """``defaults`` overridden by ``sizes``; a size the benchmark does not know is an error."""
    unknown = set(sizes) - set(defaults)
    if unknown:
        raise ValueError(f"unknown {benchmark} sizes {sorted(unknown)}; known: {sorted(defaults)}")
    return {**defaults, **sizes}


def parse_sizes(benchmark: str, defaults: dict[str, Any], pairs: Sequence[str]) -> dict[str, Any]:
    """Size overrides from ``KEY=VALUE`` strings, each value read as its default's type: an
    integer, a string, or a comma-separated tuple of either (``ponder=1,4``). Raises
    ``ValueError`` naming the known keys, or the expected form of a value."""
    sizes: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key or not text:
            raise ValueError(f"expected a size as KEY=VALUE, e.g. hidden_size=512, got {pair!r}")
        if key not in defaults:
            raise ValueError(f"unknown {benchmark} size {key!r}; known: {sorted(defaults)}")
        default = defaults[key]
        if isinstance(default, tuple):
            sizes[key] = tuple(_parse_size(key, item, default[0]) for item in text.split(","))
        else:
            sizes[key] = _parse_size(key, text, default)
    return sizes


def _parse_size(key: str, text: str, like: Any) -> Any:
    if isinstance(like, str):
        return text
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise ValueError(f"{key} takes integers, got {text!r}") from None
    if value < 1:
        raise ValueError(f"{key} must be at least 1, got {value}")
    return value


def peak_memory(
    benchmark: str, contender: str, params: dict[str, Any], options: Options
) -> int | None:
    """Peak memory in bytes of ``contender``'s training step in ``benchmark`` with ``params``:
    in this process on CUDA, in a fresh process on CPU (see the module's docstring); None when
    ``options.memory`` is off."""
    if not options.memory:
        return None
    spec = {
        "benchmark": benchmark,
        "contender": contender,
        "params": params,
        "device": options.device,
        "threads": options.threads,
        "steps": options.memory_steps,
    }
    if options.device == "cuda":
        return measure(spec)
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE_SCRIPT, json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"measuring the memory of {benchmark}/{contender} failed:\n{done.stderr.strip()}"
        )
    return int(done.stdout.strip().splitlines()[-1])


_MEASURE_SCRIPT = (
    "import json, sys\n"
    "from augrnn.bench.common import measure\n"
    "print(measure(json.loads(sys.argv[1])))"
)


def measure(spec: dict[str, Any]) -> int:
    """Build the step that ``spec`` names and measure its peak memory in this process."""
    set_threads(spec["threads"])
    module = import_module(f"augrnn.bench.{spec['benchmark']}")
    step = module.build_step(spec["contender"], device=spec["device"], **spec["params"])
    return measure_step_memory(step, spec["steps"], spec["device"])


# -- output ----------------------------------------------------------------------------------


def mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:.1f}"


def format_table(columns: Sequence[tuple[str, Callable[[dict], str]]], rows: list[dict]) -> str:
    """A plain-text table: ``columns`` are (header, row -> text) pairs, right-aligned."""
    cells = [[header for header, _ in columns]] + [[fn(r) for _, fn in columns] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = ("  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) for line in cells)
    return "\n".join(lines)
