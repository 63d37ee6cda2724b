"""Started by torchrun from test_distributed.py: trains a preset for a few steps on every rank,
checks after every optimiser step that all ranks hold the same parameters, and (rank 0) saves
the batches every rank drew, the spread of the parameters across ranks after each step and the
final parameters, for the test to compare with one process.

    torchrun --standalone --nproc_per_node=2 distributed_worker.py OUT PRESET OVERRIDES_JSON

With ``OUT unused``, it averages the gradients of a step that each rank leaves some parameters
without instead.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from augrnn.train import distributed
from augrnn.train.config import load_preset
from augrnn.train.loop import Trainer


def main(out: Path, preset: str, overrides: dict[str, str]) -> None:
    config = load_preset(preset, overrides)
    ranks, config.train.device = distributed.setup(config.train.device)
    trainer = Trainer(config, out / "run")
    drawn, spreads = [], []
    sample, step = trainer.sample_batch, trainer.optimizer.step

    def recording_sample():
        batch, at_top = sample()
        drawn.append(batch)
        return batch, at_top

    def checked_step(*args, **kwargs):
        result = step(*args, **kwargs)
        flat = torch.cat([p.detach().reshape(-1) for p in trainer.model.parameters()])
        gathered = ranks.gather(flat)
        spreads.append(max(float((g - gathered[0]).abs().max()) for g in gathered))
        return result

    trainer.sample_batch = recording_sample
    trainer.optimizer.step = checked_step
    trainer.train(progress=False)
    batches = ranks.gather(drawn)
    if ranks.is_main:
        state = {k: v.clone() for k, v in trainer.model.state_dict().items()}
        torch.save(
            {"spreads": spreads, "batches": batches, "state": state, "world": ranks.world_size},
            out / "result.pt",
        )
    distributed.teardown()


class _Partial(torch.nn.Module):
    """A model whose loss uses ``a`` on every rank, ``b`` on rank 1 only and ``c`` never."""

    def __init__(self, rank: int):
        super().__init__()
        self.rank = rank
        self.a, self.b, self.c = (torch.nn.Parameter(torch.ones(3)) for _ in range(3))

    def loss(self, task, batch):
        loss = (self.a * (self.rank + 1)).sum()
        if self.rank == 1:
            loss = loss + (self.b * 4).sum()
        return loss, loss


def unused_parameters(out: Path) -> None:
    """Two steps of a model whose ranks leave some parameters without gradients, through the
    trainer's DistributedDataParallel; saves each rank's gradients after each step."""
    ranks, _ = distributed.setup("cpu")
    model = _Partial(ranks.rank)
    wrapped = distributed.data_parallel(model, None, ranks)
    steps = []
    for _ in range(2):
        model.zero_grad(set_to_none=True)
        wrapped(None)[0].backward()
        steps.append(
            {
                name: None if p.grad is None else p.grad.tolist()
                for name, p in model.named_parameters()
            }
        )
    (out / f"grads{ranks.rank}.json").write_text(json.dumps(steps))
    distributed.teardown()


if __name__ == "__main__":
    if sys.argv[2] == "unused":
        unused_parameters(Path(sys.argv[1]))
    else:
        main(Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]))
    distributed.exit_rank(0)
