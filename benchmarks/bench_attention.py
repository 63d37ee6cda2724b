"""Decoder step time with each attention type against the same decoder without attention, in one
run.

The encoder-decoder has embeddings of 64 and width 128 (GRU), a source of S = 20 tokens and T = 20
target tokens. Two figures per attention type, each a median over repeats, with the types
measured in turn inside every repeat so machine noise hits all alike:

- decode: one greedy decoder step without gradients (encoder excluded), per step;
- train: forward + backward of a teacher-forced batch (encoder included), per target token.

    python benchmarks/bench_attention.py [--batch-sizes 1,32] [--repeats 15] [--threads N]
                                         [--json out.json]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from augrnn.attention.seq2seq import Seq2Seq
from common import add_run_options, finish, set_threads

KINDS = ("none", "bahdanau", "luong_dot", "luong_general", "luong_concat", "scaled_dot")
VOCAB, SOURCE, TARGET = 20, 20, 20
BOS = 1


def decode_steps(model: Seq2Seq, source: torch.Tensor):
    mask = torch.ones_like(source, dtype=torch.bool)

    @torch.no_grad()
    def run() -> float:
        memory, state = model.encode(source, mask)
        previous = torch.full((source.shape[1],), BOS, dtype=torch.long)
        start = time.perf_counter()
        for _ in range(TARGET):
            logits, _, state = model.step(previous, state, memory)
            previous = logits.argmax(-1)
        return (time.perf_counter() - start) / TARGET

    return run


def train_step(model: Seq2Seq, source: torch.Tensor, targets: torch.Tensor):
    def run() -> float:
        start = time.perf_counter()
        logits, _ = model(source, None, targets)
        torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten()).backward()
        model.zero_grad(set_to_none=True)
        return (time.perf_counter() - start) / TARGET

    return run


def run(batch_sizes: list[int], repeats: int) -> dict:
    results = []
    for batch_size in batch_sizes:
        generator = torch.Generator().manual_seed(0)
        source = torch.randint(3, VOCAB, (SOURCE, batch_size), generator=generator)
        targets = torch.randint(3, VOCAB, (TARGET, batch_size), generator=generator)
        torch.manual_seed(0)
        models = {kind: Seq2Seq(VOCAB, VOCAB, attention=kind).train() for kind in KINDS}
        timers = {
            kind: (decode_steps(m, source), train_step(m, source, targets))
            for kind, m in models.items()
        }
        times: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in KINDS}
        for repeat in range(repeats + 3):
            for kind, (decode, train) in timers.items():
                decode_s, train_s = decode(), train()
                if repeat >= 3:  # the first three are warm-up
                    times[kind][0].append(decode_s)
                    times[kind][1].append(train_s)
        base_decode = statistics.median(times["none"][0])
        base_train = statistics.median(times["none"][1])
        for kind in KINDS:
            decode_s, train_s = (statistics.median(t) for t in times[kind])
            results.append(
                {
                    "batch_size": batch_size,
                    "attention": kind,
                    "decode_ms_per_step": 1e3 * decode_s,
                    "train_ms_per_token": 1e3 * train_s,
                    "decode_ratio_to_none": decode_s / base_decode,
                    "train_ratio_to_none": train_s / base_train,
                }
            )
    return {
        "benchmark": "attention_decoder_step",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
        "source_length": SOURCE,
        "target_length": TARGET,
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
    print(
        f"{'batch':>5}  {'attention':>13}  {'decode ms':>9}  {'x none':>6}  "
        f"{'train ms/token':>14}  {'x none':>6}"
    )
    for r in report["results"]:
        print(
            f"{r['batch_size']:>5}  {r['attention']:>13}  {r['decode_ms_per_step']:>9.3f}  "
            f"{r['decode_ratio_to_none']:>5.2f}x  {r['train_ms_per_token']:>14.3f}  "
            f"{r['train_ratio_to_none']:>5.2f}x"
        )
    finish(report, args.json)


if __name__ == "__main__":
    main()
