"""What program search costs a Neural Programmer training step, in one run.

    python benchmarks/program_search.py table_qa_columns3 table_qa_text --repeats 40

For each preset, two models with the same parameters, the preset's own (``--model.program_search
=0`` and ``=1000``), take turns at one training step (loss, backward, Adam) on the same batches
of 64 drawn from the preset's task, on one thread; the medians of the two and their ratio are
printed. The learning rate is 0, so that both stay at the same parameters throughout.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from augrnn.train.config import load_preset
from augrnn.train.loop import Trainer

SEARCH = "1000"


def measure(preset: str, repeats: int, batches: int = 8) -> tuple[float, float]:
    """Median seconds per step without and with program search."""
    contenders = {}
    for search in ("0", SEARCH):
        config = load_preset(preset, {"model.program_search": search})
        with tempfile.TemporaryDirectory() as run_dir:
            trainer = Trainer(config, run_dir)
        optimizer = torch.optim.Adam(trainer.model.parameters(), lr=0.0)
        contenders[search] = (trainer.model, trainer.task, optimizer)
    contenders[SEARCH][0].load_state_dict(contenders["0"][0].state_dict())
    task = contenders["0"][1]
    generator = torch.Generator().manual_seed(0)
    fixed = [task.sample(64, generator) for _ in range(batches)]
    times: dict[str, list[float]] = {search: [] for search in contenders}
    for repeat in range(repeats + 3):
        for search, (model, task, optimizer) in contenders.items():
            batch = fixed[repeat % batches]
            start = time.perf_counter()
            loss, _ = model.loss(task, batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if repeat >= 3:  # the first calls warm up
                times[search].append(time.perf_counter() - start)
    return statistics.median(times["0"]), statistics.median(times[SEARCH])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="+")
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for preset in args.presets:
        without, with_search = measure(preset, args.repeats)
        print(
            f"{preset}: {1000 * without:.1f} ms per step without program search, "
            f"{1000 * with_search:.1f} ms with it: {with_search / without:.2f}x"
        )


if __name__ == "__main__":
    main()
