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


def unused_parameters(out: Path) -> None:
    """Rank 0's step uses parameter ``a`` only, rank 1's ``a`` and ``b``; no rank uses ``c``.
    Saves each rank's gradients after averaging."""
    ranks, _ = distributed.setup("cpu")
    a, b, c = (torch.nn.Parameter(torch.ones(3)) for _ in range(3))
    loss = (a * (ranks.rank + 1)).sum()
    if ranks.rank == 1:
        loss = loss + (b * 4).sum()
    loss.backward()
    finite = ranks.average_gradients([a, b, c], loss_finite=True)
    grads = {
        name: None if p.grad is None else p.grad.tolist()
        for name, p in (("a", a), ("b", b), ("c", c))
    }
    (out / f"grads{ranks.rank}.json").write_text(json.dumps({"finite": finite, **grads}))
    distributed.teardown()


if __name__ == "__main__":
    if sys.argv[2] == "unused":
        unused_parameters(Path(sys.argv[1]))
    else:
        main(Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]))
