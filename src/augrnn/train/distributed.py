"""Data-parallel training over several processes with ``torch.distributed``.

``torchrun --nproc_per_node=N -m augrnn train PRESET`` starts N processes (ranks) that train
one model with ``DistributedDataParallel``: each rank holds a copy of the parameters, draws its
own share of every batch (``train.batch_size`` / N episodes, from a seed derived from
``train.seed`` and its rank), and in each backward pass the ranks average their gradients, so
every rank takes the same optimiser step and the parameters stay identical. Across machines,
torchrun's rendezvous (``--nnodes``, ``--rdzv-endpoint``) joins the ranks; the process group is
gloo on the CPU and NCCL on CUDA devices (rank r of a machine on its local GPU r).

DDP wraps :class:`LossForward`, a model's :meth:`~augrnn.interface.Model.loss` as a forward
pass, always with ``find_unused_parameters``: a parameter that a rank's step left without a
gradient (ACT halting before a branch ran, a Neural Programmer operation never selected) counts
as a zero gradient there, with no error and nothing for the user to set. The compiled steps run
inside the wrapped forward unchanged. Only rank 0 evaluates and writes the run folder (config,
metrics, TensorBoard, checkpoints); the others receive what it decides.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn, TypeVar

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

T = TypeVar("T")

#: Seeds of ranks 1, 2, ... are ``seed + RANK_SEED_STRIDE * rank`` (mod 2^63): far from the
#: restarts' ``seed + 1000 k`` and from any other run's seed of a small number.
RANK_SEED_STRIDE = 1_000_000_007
#: How long a rank waits for the others to join, or in a collective (rank 0 evaluating while
#: the others wait), before failing.
COLLECTIVE_TIMEOUT = timedelta(minutes=30)
#: The environment torchrun sets for every rank.
LAUNCH_VARIABLES = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


class DistributedError(RuntimeError):
    """Several processes cannot train together as asked."""


def rank_seed(seed: int, rank: int) -> int:
    """The data seed of ``rank``: ``seed`` itself on rank 0, so a single process trains as
    before."""
    return (seed + RANK_SEED_STRIDE * rank) % 2**63


@dataclass(frozen=True)
class Ranks:
    """This process's place among the processes training one model.

    rank: 0 .. world_size − 1; local_rank: its index on its machine (its GPU there)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def on_main(self, compute: Callable[[], T]) -> T:
        """``compute()`` on rank 0, its result (or the exception it raised) given to every rank:
        one decision for all, e.g. reading a checkpoint that only rank 0's machine holds."""
        if not self.distributed:
            return compute()
        box: list[Any] = [None]
        if self.is_main:
            try:
                box[0] = (True, compute())
            except Exception as err:  # every rank raises it, not rank 0 alone
                box[0] = (False, err)
        dist.broadcast_object_list(box, src=0)
        ok, value = box[0]
        if not ok:
            raise value
        return value

    def gather(self, value: T) -> list[T]:
        """Every rank's ``value``, in rank order (on every rank)."""
        if not self.distributed:
            return [value]
        values: list[Any] = [None] * self.world_size
        dist.all_gather_object(values, value)
        return values

    def all_true(self, flag: bool) -> bool:
        """Whether ``flag`` holds on every rank (e.g. a finite loss: all ranks then stop, or
        go on, together)."""
        if not self.distributed:
            return flag
        return bool(self._summed(torch.tensor([float(not flag)])).item() == 0)

    def agree_step(
        self, cost: float, scored: float, at_curriculum_top: bool, elapsed: float
    ) -> tuple[float, float, float | None, float]:
        """The whole batch's figures from each rank's share: the cost (bits per sequence) and
        scored steps per sequence averaged over the ranks, the cost per scored step of the
        shares at the curriculum's longest length (None: no rank's was), and rank 0's clock
        (so that every rank stops at the same step)."""
        if not self.distributed:
            top = cost / max(scored, 1.0) if at_curriculum_top else None
            return cost, scored, top, elapsed
        top = float(at_curriculum_top)
        values = torch.tensor(
            [cost, scored, top * cost, top * scored, top, elapsed if self.is_main else 0.0],
            dtype=torch.float64,
        )
        values = self._summed(values)
        total_cost, total_scored, top_cost, top_scored, tops, main_elapsed = values.tolist()
        top_per_step = top_cost / max(top_scored, 1.0) if tops > 0 else None
        n = self.world_size
        return total_cost / n, total_scored / n, top_per_step, main_elapsed

    def _summed(self, values: Tensor) -> Tensor:
        """``values`` (on the CPU) summed over the ranks."""
        on_device = values.to(collective_device())
        dist.all_reduce(on_device)
        return on_device.cpu()


SINGLE = Ranks()


class LossForward(nn.Module):
    """A model's loss on a task's batch as a forward pass, which DistributedDataParallel
    wraps: ``forward(batch)`` returns ``model.loss(task, batch)``."""

    def __init__(self, model: nn.Module, task: Any):
        super().__init__()
        self.model = model
        self.task = task

    def forward(self, batch: Any) -> Any:
        return self.model.loss(self.task, batch)


def data_parallel(model: nn.Module, task: Any, ranks: Ranks) -> nn.Module:
    """``model``'s loss wrapped in DistributedDataParallel (which gives every rank rank 0's
    parameters and buffers), on this rank's GPU under NCCL."""
    device_ids = [ranks.local_rank] if dist.get_backend() == "nccl" else None
    return DistributedDataParallel(
        LossForward(model, task), device_ids=device_ids, find_unused_parameters=True
    )


def collective_device() -> torch.device:
    """Where the process group's tensors live: this rank's GPU under NCCL, else the CPU."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def current() -> Ranks:
    """This process's ranks: those of the initialised process group, else a single process."""
    if not (dist.is_available() and dist.is_initialized()):
        return SINGLE
    local = int(os.environ.get("LOCAL_RANK", dist.get_rank()))
    return Ranks(dist.get_rank(), dist.get_world_size(), local)


def launched_world_size() -> int:
    """The number of processes torchrun (or the environment) says train together; 1 if none."""
    text = os.environ.get("WORLD_SIZE", "1")
    try:
        size = int(text)
    except ValueError:
        raise DistributedError(f"WORLD_SIZE must be a whole number, got {text!r}") from None
    if size < 1:
        raise DistributedError(f"WORLD_SIZE must be >= 1, got {size}")
    return size


def setup(device: str) -> tuple[Ranks, str]:
    """Join the processes torchrun started (a no-op for a single process) and return this
    process's ranks and the device it trains on: ``device`` itself on the CPU, the local GPU
    for ``cuda``. Raises :class:`DistributedError` with what to do when the environment names
    several processes but not how to reach them, or they do not all join."""
    world = launched_world_size()
    if world == 1:
        return current(), device
    if dist.is_initialized():
        return current(), _rank_device(device, current())
    missing = [name for name in LAUNCH_VARIABLES if not os.environ.get(name)]
    if missing:
        raise DistributedError(
            f"WORLD_SIZE={world} asks for {world} processes, but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set: start them with torchrun "
            "(`torchrun --nproc_per_node=N -m augrnn train PRESET`), which sets RANK, "
            "WORLD_SIZE, MASTER_ADDR and MASTER_PORT for each"
        )
    if not dist.is_available():
        raise DistributedError("this build of torch has no torch.distributed")
    use_cuda = torch.device(device).type == "cuda"
    backend = "nccl" if use_cuda else "gloo"
    ranks = Ranks(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if use_cuda:
        if not torch.cuda.is_available():
            raise DistributedError(f"train.device is {device!r} but no CUDA device is available")
        torch.cuda.set_device(ranks.local_rank)
    try:
        dist.init_process_group(backend, timeout=COLLECTIVE_TIMEOUT)
    except (RuntimeError, ValueError) as err:
        where = f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}"
        raise DistributedError(
            f"rank {ranks.rank} of {world} could not join the others at {where} ({backend}): "
            f"{str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__}"
        ) from err
    return ranks, _rank_device(device, ranks)


def _rank_device(device: str, ranks: Ranks) -> str:
    if torch.device(device).type == "cuda":
        return f"cuda:{ranks.local_rank}"
    return device


def teardown(wait: bool = True) -> None:
    """Leave the process group, if this process joined one; with ``wait``, once every rank
    has reached this point, so that none leaves while another still waits on a collective
    (``wait=False`` after an error, when the others may be gone)."""
    if dist.is_available() and dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()


def exit_rank(code: object = 0) -> NoReturn:
    """End a process that torchrun started, with ``code`` as :class:`SystemExit` reads it,
    without finalising the interpreter.

    A gloo worker thread can still be releasing a finished collective's tensors, which needs
    Python, while the interpreter finalises; the process then aborts (SIGABRT) after a run
    that succeeded, and DistributedDataParallel keeps those threads alive past
    :func:`teardown`. The streams and logs are flushed first; the run folder is already
    written (checkpoints are atomic)."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(status)


#: What gloo and NCCL say when another rank's process went away.
LOST_PEER_MESSAGES = ("Connection closed by peer", "Connection reset by peer", "Broken pipe")


def lost_peer(err: BaseException) -> bool:
    """Whether ``err``, raised in a collective, means that another rank stopped or was killed."""
    return isinstance(err, dist.DistError) or any(text in str(err) for text in LOST_PEER_MESSAGES)


def describe_lost_peer(err: BaseException) -> str:
    """The first sentence of a collective's error, without the source location gloo puts
    first."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return re.sub(r"^\[[^\]]*\]\s*", "", text).split(". ")[0][:160]


def config_fingerprint(settings: dict[str, Any]) -> str:
    """A short hash of a config's settings, the same for equal configs on any machine."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
