"""NTM training throughput beside a bare LSTMCell of the controller's size, in one run.

A training step is forward + backward + optimiser step on copy episodes of length 20 (41 time
steps). The NTM is the paper's copy model (LSTM controller of 100 units, memory 128 x 20, one read
and one write head); the baseline is ``nn.LSTMCell(9, 100)`` with a linear read-out to the same 8
outputs, unrolled over the same inputs with the same loss. Timings of the two alternate within each
repeat, so machine noise hits both alike; the figures are medians over repeats.

    python benchmarks/bench_ntm.py [--batch-sizes 1,32] [--repeats 15] [--threads N]
                                   [--json out.json]
"""

from __future__ import annotations

import argparse
import platform
import statistics

import torch
from torch import nn

from augrnn.memory.ntm import NTM
from augrnn.tasks.copy import CopyTask
from common import add_run_options, finish, seconds, set_threads


class LSTMCellBaseline(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, output_size: int):
        super().__init__()
        self.cell = nn.LSTMCell(input_size, hidden_size)
        self.readout = nn.Linear(hidden_size, output_size)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        h = inputs.new_zeros(inputs.shape[1], self.cell.hidden_size)
        c = torch.zeros_like(h)
        outputs = []
        for x in inputs:
            h, c = self.cell(x, (h, c))
            outputs.append(self.readout(h))
        return torch.stack(outputs)


def make_step(model: nn.Module, task: CopyTask, batch, sequence_model: bool):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step() -> None:
        logits = model(batch.inputs)[0] if sequence_model else model(batch.inputs)
        loss = task.loss(logits, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def run(batch_sizes: list[int], repeats: int, warmup: int = 3) -> dict:
    torch.manual_seed(0)
    task = CopyTask()
    results = []
    for batch_size in batch_sizes:
        batch = task.sample(batch_size, torch.Generator().manual_seed(0), length=20)
        ntm = NTM(task.input_size, task.output_size, controller_size=100)
        lstm = LSTMCellBaseline(task.input_size, 100, task.output_size)
        ntm_step = make_step(ntm, task, batch, sequence_model=True)
        lstm_step = make_step(lstm, task, batch, sequence_model=False)
        for _ in range(warmup):
            ntm_step()
            lstm_step()
        ntm_times, lstm_times = [], []
        for _ in range(repeats):
            ntm_times.append(seconds(ntm_step))
            lstm_times.append(seconds(lstm_step))
        ntm_s, lstm_s = statistics.median(ntm_times), statistics.median(lstm_times)
        results.append(
            {
                "batch_size": batch_size,
                "sequence_length": 20,
                "time_steps": batch.inputs.shape[0],
                "ntm_step_s": ntm_s,
                "lstm_cell_step_s": lstm_s,
                "ntm_sequences_per_s": batch_size / ntm_s,
                "lstm_cell_sequences_per_s": batch_size / lstm_s,
                "ratio": ntm_s / lstm_s,
            }
        )
    return {
        "benchmark": "ntm_copy_training_step",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "repeats": repeats,
        "results": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", default="1,32")
    add_run_options(parser)
    args = parser.parse_args()
    set_threads(args)
    report = run([int(b) for b in args.batch_sizes.split(",")], args.repeats)
    print(f"torch {report['torch']}, {report['threads']} threads, medians of {args.repeats}")
    print(f"{'batch':>5}  {'NTM seq/s':>10}  {'LSTMCell seq/s':>14}  {'NTM/LSTMCell':>12}")
    for r in report["results"]:
        print(
            f"{r['batch_size']:>5}  {r['ntm_sequences_per_s']:>10.1f}  "
            f"{r['lstm_cell_sequences_per_s']:>14.1f}  {r['ratio']:>11.1f}x"
        )
    finish(report, args.json)


if __name__ == "__main__":
    main()
