"""An interactive, self-contained HTML report of one traced example (``RUN/viz/report.html``).

:func:`report_data` gathers what the Trace holds into plain JSON-able data (only the views whose
names were traced: memory heads' addressing (NTM, DNC), the DNC's memory management, what a
stack, queue or deque holds, a stack RNN's stacks, a memory network's hops, the Neural GPU's
image, the NRAM's memory and circuits, the RL-NTM's heads on its tapes, ACT pondering,
attention over text, images and audio), plus the example's inputs,
targets and outputs and the learning curves; :func:`write_report` embeds that data as JSON in
one HTML file together with ``report.js`` and ``report.css`` (written for this package, no
third-party code), which draw it with inline SVG. The file needs no server and no network.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from augrnn.core import Trace
from augrnn.registry import describe_model
from augrnn.tasks.base import Batch, Task
from augrnn.tasks.tapes import symbol_labels
from augrnn.tasks.text import Vocabulary
from augrnn.train.runs import read_metrics
from augrnn.viz.views import (
    MAX_STEPS_SHOWN,
    _attention_dims,
    _ntm_names,
    _output_labels,
    _output_steps,
    _series,
    _targets_and_outputs,
    held_by_end,
    token_label,
)

REPORT_NAME = "report.html"
#: Memory snapshots embedded in a report (the slider shows the nearest earlier one), so a long
#: trace does not make the file huge.
MAX_MEMORY_SNAPSHOTS = 60
#: Metrics logged with each record that are bookkeeping, not measurements.
NOT_PLOTTED = {"split", "step", "sequences", "elapsed", "lr"}
NTM_STAGES = ("content", "gated", "shifted", "final")
NTM_SCALARS = {"strengths": "β", "gates": "g", "gammas": "γ"}


def _stride(length: int) -> int:
    return max(1, math.ceil(length / MAX_STEPS_SHOWN))


def _rounded(values: np.ndarray | Tensor, digits: int = 4) -> Any:
    if isinstance(values, Tensor):
        values = values.detach().float().cpu().numpy()
    return np.round(np.asarray(values, dtype=np.float64), digits).tolist()


def _io_data(task: Task, batch: Batch, logits: Tensor) -> dict[str, Any]:
    """The example's inputs, targets and outputs: bit grids (time, channel), token strings, a
    memory's cells (its start, its scored cells' targets and each cell's most probable final
    value) or a tape's symbols."""
    if task.io_kind == "memory":
        scored = (batch.mask[:, 0] > 0).tolist()
        targets = batch.targets[:, 0].tolist()
        return {
            "kind": "memory",
            "source": [str(int(v)) for v in batch.memory[:, 0]],
            "target": [str(v) if s else "·" for v, s in zip(targets, scored, strict=True)],
            "output": [str(int(v)) for v in logits[:, 0].argmax(-1)],
            "scored": scored,
        }
    if task.io_kind == "tape":
        cells, targets = int(batch.tape_lengths[0]), int(batch.mask[:, 0].sum())
        return {
            "kind": "tape",
            "source": symbol_labels(batch.tape[:cells, 0]),
            "target": symbol_labels(batch.targets[:targets, 0]),
            "output": symbol_labels(logits[:targets, 0].argmax(-1)),
        }
    if task.io_kind == "tokens":
        source_vocab = getattr(task, "source_vocab", None)
        target_vocab = getattr(task, "target_vocab", None)
        data: dict[str, Any] = {"kind": "tokens"}
        if batch.inputs.dim() == 2 and source_vocab is not None:
            data["source"] = [token_label(source_vocab, int(t)) for t in batch.inputs[:, 0]]
        if target_vocab is not None:
            predicted = task.predicted_tokens(logits, 0)
            if isinstance(logits, Tensor):  # one output per target step
                steps = _output_steps(batch, 0, logits.shape[0])
                predicted = predicted[:steps]
            else:  # a transcript, as long as the model made it
                steps = int(batch.mask[:, 0].sum())
                predicted = [*predicted, Vocabulary.EOS]
            data["target"] = [token_label(target_vocab, int(t)) for t in batch.targets[:steps, 0]]
            data["output"] = [token_label(target_vocab, int(t)) for t in predicted]
        return data
    inputs = batch.inputs[:, 0].float()
    targets, outputs, channel_label, squash = _targets_and_outputs(task, batch, logits, 0)
    scored = batch.mask[:, 0].float()
    total = inputs.shape[0]
    stride = _stride(total)
    pick = slice(None, None, stride)
    return {
        "kind": "grids",
        "total": total,
        "stride": stride,
        "channel_label": channel_label,
        "squash": squash,
        "inputs": _rounded(inputs[pick], 3),
        "targets": _rounded(targets[pick], 3),
        "outputs": _rounded((outputs * scored[:, None])[pick], 3),
    }


def _ntm_data(trace: Trace) -> dict[str, Any]:
    """Per step (downsampled), per kind and head: the addressing stages and β, g, γ."""
    weights, starts = _series(trace, "write_weights", 0)
    total = weights.shape[0]
    stride = _stride(total)
    heads: list[dict[str, Any]] = []
    for kind in ("write", "read"):
        stages = {}
        for stage in NTM_STAGES:
            name = f"{kind}_weights" if stage == "final" else f"{kind}_{stage}_weights"
            try:
                series, _ = _series(trace, name, 0)  # (S, heads, N)
            except KeyError:
                continue
            stages[stage] = series[::stride]
        scalars = {}
        for name, symbol in NTM_SCALARS.items():
            try:
                series, _ = _series(trace, f"{kind}_{name}", 0)  # (S, heads)
            except KeyError:
                continue
            scalars[symbol] = series[::stride].reshape(series[::stride].shape[0], -1)
        try:
            keys, _ = _series(trace, f"{kind}_keys", 0)  # (S, heads, M)
            keys = keys[::stride]
        except KeyError:
            keys = None
        count = stages["final"].shape[1]
        for head in range(count):
            heads.append(
                {
                    "kind": kind,
                    "head": head,
                    "label": f"{kind}" + (f" head {head}" if count > 1 else ""),
                    "stages": {s: _rounded(v[:, head]) for s, v in stages.items()},
                    "scalars": {s: _rounded(v[:, head], 3) for s, v in scalars.items()},
                    "key": None if keys is None else _rounded(keys[:, head], 3),
                }
            )
    steps = list(range(0, total, stride))
    return {
        "total": total,
        "stride": stride,
        "steps": steps,
        "ponder_starts": starts,
        "slots": int(weights.shape[-1]),
        "heads": heads,
        "memory": _memory_snapshots(trace, stride, len(steps)),
    }


def _snapshot_steps(shown: int) -> list[int]:
    """Up to MAX_MEMORY_SNAPSHOTS of the ``shown`` steps, evenly spaced, first and last
    included: the indices of the steps whose memory or links a report embeds."""
    spaced = np.linspace(0, shown - 1, min(shown, MAX_MEMORY_SNAPSHOTS)).round().astype(int)
    return sorted({int(i) for i in spaced})


def _memory_snapshots(trace: Trace, stride: int, shown: int) -> dict[str, Any] | None:
    """The memory M_t (N, M) at up to MAX_MEMORY_SNAPSHOTS of the shown steps, evenly spaced:
    ``at`` holds their indices among the shown steps."""
    try:
        memory, _ = _series(trace, "memory", 0)  # (S, N, M)
    except KeyError:
        return None
    memory = memory[::stride]
    at = _snapshot_steps(shown)
    values = memory[at]
    return {
        "at": at,
        "values": _rounded(values, 3),
        "bound": round(float(values.abs().max().clamp_min(1e-6)), 4),
    }


#: What a DNC traces for its section of the report.
DNC_NAMES = ("usage", "allocation_gate", "write_gate", "read_modes", "link")


def _dnc_data(trace: Trace) -> dict[str, Any]:
    """Per step (downsampled): usage u_t, the write gate and the allocation share, each read
    head's modes π; and the temporal link matrix L_t at up to MAX_MEMORY_SNAPSHOTS steps."""
    usage = trace.stack("usage")[:, 0]  # (S, N)
    total = usage.shape[0]
    stride = _stride(total)
    steps = list(range(0, total, stride))
    link = trace.stack("link")[::stride, 0]  # (shown, N, N)
    at = _snapshot_steps(len(steps))
    return {
        "total": total,
        "stride": stride,
        "steps": steps,
        "slots": int(usage.shape[-1]),
        "usage": _rounded(usage[::stride], 3),
        "write_gate": _rounded(trace.stack("write_gate")[::stride, 0], 3),
        "allocation_gate": _rounded(trace.stack("allocation_gate")[::stride, 0], 3),
        "read_modes": _rounded(trace.stack("read_modes")[::stride, 0], 3),  # (shown, R, 3)
        # transposed, as the report's heat maps draw their first index across: i down, j across
        "link": {"at": at, "values": _rounded(link[at].transpose(-1, -2), 3)},
    }


#: What a differentiable stack, queue or deque traces for its section of the report.
STRUCTURE_NAMES = ("push_strengths", "pop_strengths", "strengths")
#: What a stack RNN traces for its section.
STACK_RNN_NAMES = ("stack_actions", "stacks")


#: What a memory network traces for its section.
MEMORY_HOPS_NAMES = ("memory_attention",)
#: What the Neural GPU traces for its section.
NEURAL_GPU_NAMES = ("gpu_first_row", "gpu_readout", "gpu_update")


def _neural_gpu_data(trace: Trace, batch: Batch) -> dict[str, Any]:
    """At each step (downsampled): how sure the output read from the image is of each result
    digit, the first row's update gate per column, and the digits it would write; the targets."""
    readout = trace.stack("gpu_readout")[:, 0]  # (S, K, n)
    update = trace.stack("gpu_update")[:, 0, 0]  # (S, n), the first row
    scored = batch.mask[:, 0] > 0
    columns = torch.nonzero(scored).flatten()
    targets = batch.targets[columns, 0, 0]
    total = readout.shape[0]
    stride = _stride(total)
    written = readout.argmax(1)[:, columns]  # (S, digits)
    return {
        "total": total,
        "stride": stride,
        "steps": list(range(0, total, stride)),
        # transposed, as the report's heat maps draw their first index across: steps down
        "target_probability": _rounded(readout[::stride, targets, columns].T, 3),
        "update": _rounded(update[::stride].T, 3),
        "written": written[::stride].tolist(),
        "targets": targets.tolist(),
    }


#: What the NRAM traces for its section.
NRAM_NAMES = ("nram_memory", "nram_stop")
#: What the RL-NTM traces for its section.
RL_NTM_NAMES = ("rl_input_head", "rl_emit", "rl_input_move", "rl_emit_probability")


def _nram_data(trace: Trace, batch: Any, model: Any) -> dict[str, Any]:
    """After each timestep (downsampled): each cell's most probable value and its probability,
    the probability that each scored cell holds its target, p_t, and the most probable circuit
    as text (where the model gives it: :meth:`augrnn.nram.model.NRAM.circuits`)."""
    memory = trace.stack("nram_memory")[:, 0]  # (T, M cells, M values)
    scored = torch.nonzero(batch.mask[:, 0] > 0).flatten()
    targets = batch.targets[scored, 0]
    total = memory.shape[0]
    stride = _stride(total)
    shown = memory[::stride]
    circuits = model.circuits(trace, 0) if hasattr(model, "circuits") else []
    return {
        "total": total,
        "stride": stride,
        "steps": list(range(0, total, stride)),
        "values": shown.argmax(-1).tolist(),
        "sureness": _rounded(shown.max(-1).values, 3),
        # (steps, scored cells): the report's heat maps draw the first index across
        "target_probability": _rounded(shown[:, scored, targets], 3),
        "scored": scored.tolist(),
        "targets": targets.tolist(),
        "stop": _rounded(trace.stack("nram_stop")[::stride, 0], 3),
        "circuits": circuits[::stride],
    }


def _rl_ntm_data(trace: Trace, batch: Any) -> dict[str, Any]:
    """At each step (downsampled): the input head's cell, the memory head's (with a memory
    tape), whether it emitted, P(emit) and P(move back, stay, forward); the tape's symbols."""
    total = len(trace)
    stride = _stride(total)
    cells = int(batch.tape_lengths[0])
    memory_head = (
        trace.stack("rl_memory_head")[::stride, 0].tolist()
        if "rl_memory_head" in trace.names
        else None
    )
    return {
        "total": total,
        "stride": stride,
        "steps": list(range(0, total, stride)),
        "tape": symbol_labels(batch.tape[:cells, 0]),
        "input_head": trace.stack("rl_input_head")[::stride, 0].tolist(),
        "memory_head": memory_head,
        "emit": [bool(x) for x in trace.stack("rl_emit")[::stride, 0]],
        "emit_probability": _rounded(trace.stack("rl_emit_probability")[::stride, 0], 3),
        "input_move": _rounded(trace.stack("rl_input_move")[::stride, 0], 3),
    }


def _memory_hops_data(trace: Trace, task: Task, batch: Any, logits: Tensor) -> dict[str, Any]:
    """The story's statements (their text where the task gives it), which support the answer,
    each hop's attention over them, the question, the answer and the model's."""
    attention = trace.stack("memory_attention")[:, 0]  # (K, S)
    count = int(batch.lengths[0])
    texts = (
        task.statements(batch, 0)
        if hasattr(task, "statements")
        else [f"statement {j + 1}" for j in range(count)]
    )
    supports = getattr(batch, "supports", None)
    name = getattr(task, "answer_text", str)
    at_question = (logits[:, 0] * batch.mask[:, 0].unsqueeze(-1)).sum(0)
    return {
        "statements": texts,
        "supports": [] if supports is None else [bool(x) for x in supports[0, :count] > 0],
        "attention": _rounded(attention[:, :count], 3),
        "question": task.question_text(batch, 0) if hasattr(task, "question_text") else "",
        "answer": name(int(batch.answers[0])) if hasattr(batch, "answers") else "",
        "model_answer": name(int(at_question.argmax())),
    }


def _structure_data(trace: Trace) -> dict[str, Any]:
    """Per end of the structure (the top and the bottom of a deque): at each step (downsampled)
    the strength of every value pushed so far (indexed by the step that pushed it), and the
    push and pop strengths d_t and u_t."""
    pushes = trace.stack("push_strengths")[:, 0]  # (T, E)
    pops = trace.stack("pop_strengths")[:, 0]
    strengths = trace.stack("strengths")[:, 0].double().numpy()  # (T, C)
    total, ends = pushes.shape
    stride = _stride(total)
    out = []
    for end, (name, held) in enumerate(held_by_end(strengths, ends)):
        out.append(
            {
                "name": name,
                # (time, pushed at), NaN where nothing is held
                "held": _rounded(held[::stride, ::stride].T, 3),
                "push": _rounded(pushes[::stride, end], 3),
                "pop": _rounded(pops[::stride, end], 3),
            }
        )
    return {"total": total, "stride": stride, "steps": list(range(0, total, stride)), "ends": out}


def _stack_rnn_data(trace: Trace) -> dict[str, Any]:
    """The first stacks' cells (top first, as deep as the trace is long) and action
    probabilities at each step (downsampled)."""
    stacks = trace.stack("stacks")[:, 0]  # (T, K, D)
    actions = trace.stack("stack_actions")[:, 0]  # (T, K, A)
    total = stacks.shape[0]
    stride = _stride(total)
    shown = min(stacks.shape[1], 4)
    depth = min(stacks.shape[2], max(8, total))
    return {
        "total": total,
        "stride": stride,
        "steps": list(range(0, total, stride)),
        "stacks": int(stacks.shape[1]),
        "cells": _rounded(stacks[::stride, :shown, :depth].transpose(0, 1), 3),  # (K, T, D)
        "actions": _rounded(actions[::stride, :shown], 3),  # (T, K, A)
    }


def _act_data(trace: Trace) -> dict[str, Any]:
    steps = trace.stack("ponder_steps")[:, 0].float()
    probs = trace.stack("halting_probabilities")[:, 0].float()
    total = steps.shape[0]
    stride = _stride(total)
    deepest = int(max(1, steps.max().item()))
    probs = probs[:, : min(probs.shape[1], deepest + 1)]
    return {
        "total": total,
        "stride": stride,
        "steps": list(range(0, total, stride)),
        "ponder_steps": _rounded(steps[::stride], 2),
        "halting": _rounded(probs[::stride], 4),
        "mean": round(float(steps.mean()), 3),
    }


def _attention_data(trace: Trace, task: Task, batch: Batch, logits: Tensor) -> dict[str, Any]:
    weights = trace.stack("attention")[:, 0]  # (T, S)
    steps = min(_output_steps(batch, 0, weights.shape[0]), MAX_STEPS_SHOWN)
    source_length = weights.shape[1]
    if batch.input_mask is not None:
        source_length = max(1, int(batch.input_mask[:, 0].sum()))
    vocab = getattr(task, "source_vocab", None) if batch.inputs.dim() == 2 else None
    if vocab is not None:
        source = [token_label(vocab, int(s)) for s in batch.inputs[:source_length, 0]]
    else:
        source = [str(i) for i in range(source_length)]
    return {
        "source": source,
        "outputs": _output_labels(task, batch, logits, 0, steps),
        "weights": _rounded(weights[:steps, :source_length], 3),
        "truncated": _output_steps(batch, 0, weights.shape[0]) > steps,
    }


def _image_attention_data(trace: Trace, task: Task, batch: Batch, logits: Tensor) -> dict[str, Any]:
    """The image (H, W), the output labels and each output step's (H', W') attention map."""
    weights = trace.stack("attention")[:, 0]  # (T, H', W')
    steps = min(_output_steps(batch, 0, weights.shape[0]), MAX_STEPS_SHOWN)
    return {
        "image": _rounded(batch.inputs[0, 0], 3),
        "outputs": _output_labels(task, batch, logits, 0, steps),
        "weights": _rounded(weights[:steps], 4),
    }


#: Columns of the spectrogram drawn in the report.
SPECTROGRAM_COLUMNS = 240


def _speech_attention_data(trace: Trace, task: Task, batch: Batch, outputs) -> dict[str, Any]:
    """The spectrogram (bins x frames, every ``frame_stride``-th frame), each output
    character's attention over the listener's steps and how many frames a step covers."""
    frames = max(1, int(batch.steps_mask()[:, 0].sum()))
    stride = math.ceil(frames / SPECTROGRAM_COLUMNS)
    labels = [token_label(task.target_vocab, t) for t in task.predicted_tokens(outputs, 0)]
    labels.append("<eos>")
    weights = trace.stack("speech_attention")[: len(labels), 0]  # (L, U)
    return {
        "spectrogram": _rounded(batch.inputs[:frames:stride, 0].T, 2),
        "frame_stride": stride,
        "frames": frames,
        "frames_per_step": math.ceil(frames / max(weights.shape[1], 1)),
        "outputs": labels[: len(weights)],
        "weights": _rounded(weights, 3),
        "heard": task.output_text(outputs, 0),
        "said": task.decode_target(batch.targets[:, 0]),
    }


def _curves_data(run_dir: Path) -> list[dict[str, Any]]:
    records = read_metrics(run_dir)
    train = [r for r in records if r.get("split") == "train"]
    evals = [r for r in records if r.get("split") == "eval"]
    curves = []
    if train:
        curves.append(("cost_bits (train)", train, "cost_bits"))
    names = [n for n in dict.fromkeys(k for r in evals for k in r) if n not in NOT_PLOTTED]
    curves += [(f"{name} (held out)", evals, name) for name in names]
    out = []
    for title, source, key in curves:
        points = [
            [r["sequences"], r[key]]
            for r in source
            if isinstance(r.get(key), int | float) and math.isfinite(r[key])
        ]
        if len(points) > MAX_STEPS_SHOWN:
            points = points[:: _stride(len(points))]
        if points:
            out.append({"title": title, "points": points})
    return out


def report_data(
    run_dir: Path,
    config,
    task: Task,
    batch: Batch,
    logits: Tensor,
    trace: Trace,
    example: int = 0,
    length: int | None = None,
    model: Any = None,
) -> dict[str, Any]:
    """Everything the report draws, as JSON-able data; views only for what the Trace holds
    (``model``, where given, adds what only it can say, such as the NRAM's circuits)."""
    names = set(trace.names)
    views: dict[str, Any] = {}
    if _ntm_names(trace, task):
        views["ntm"] = _ntm_data(trace)
    if set(DNC_NAMES) <= names:
        views["dnc"] = _dnc_data(trace)
    if set(STRUCTURE_NAMES) <= names:
        views["structure"] = _structure_data(trace)
    if set(STACK_RNN_NAMES) <= names:
        views["stack_rnn"] = _stack_rnn_data(trace)
    if set(MEMORY_HOPS_NAMES) <= names:
        views["memory_hops"] = _memory_hops_data(trace, task, batch, logits)
    if set(NEURAL_GPU_NAMES) <= names:
        views["neural_gpu"] = _neural_gpu_data(trace, batch)
    if set(NRAM_NAMES) <= names:
        views["nram"] = _nram_data(trace, batch, model)
    if set(RL_NTM_NAMES) <= names:
        views["rl_ntm"] = _rl_ntm_data(trace, batch)
    if {"ponder_steps", "halting_probabilities"} <= names:
        views["act"] = _act_data(trace)
    if _attention_dims(trace) == 2:
        views["attention"] = _attention_data(trace, task, batch, logits)
    if _attention_dims(trace) == 3 and batch.inputs.dim() == 4:
        views["image_attention"] = _image_attention_data(trace, task, batch, logits)
    if "speech_attention" in names:
        views["speech_attention"] = _speech_attention_data(trace, task, batch, logits)
    return {
        "meta": {
            "run": Path(run_dir).resolve().name,
            "task": task.name,
            "model": describe_model(config.model),
            "preset": config.preset or "",
            "example": example,
            "length": length,
            "traced": sorted(names),
        },
        "io": _io_data(task, batch, logits),
        "views": views,
        "curves": _curves_data(Path(run_dir)),
    }


def _asset(name: str) -> str:
    return resources.files("augrnn.viz").joinpath(name).read_text(encoding="utf-8")


def render_html(data: dict[str, Any]) -> str:
    """One HTML document with ``data`` embedded as JSON and the report's JS and CSS inlined."""
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False)
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    meta = data["meta"]
    title = f"{meta['run']}: {meta['model']} on {meta['task']}"
    title = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        f"<title>{title}</title>\n<style>\n{_asset('report.css')}\n</style>\n</head>\n"
        "<body>\n<main id='report'></main>\n"
        f"<script type='application/json' id='report-data'>{payload}</script>\n"
        f"<script>\n{_asset('report.js')}\n</script>\n</body>\n</html>\n"
    )


def write_report(path: Path | str, data: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(data), encoding="utf-8")
    return path


def _finite(data: Any) -> Any:
    """``data`` with NaN/inf floats replaced by None, so the JSON stays standard."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _finite(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_finite(v) for v in data]
    return data


@torch.no_grad()
def report_for(
    run_dir: Path,
    out: Path,
    config,
    task: Task,
    batch: Batch,
    logits: Tensor,
    trace: Trace,
    example: int = 0,
    length: int | None = None,
    model: Any = None,
) -> Path:
    """Write ``out/report.html`` for an example already run with tracing (see ``visualise_run``)."""
    data = report_data(run_dir, config, task, batch, logits, trace, example, length, model)
    return write_report(Path(out) / REPORT_NAME, _finite(data))
