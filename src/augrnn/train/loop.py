"""The generic training loop: it knows no model or task beyond their interfaces.

Tasks own their loss and metrics; models compute their loss on a task's batch
(:class:`~augrnn.interface.Model`). The loop
samples batches from a seeded generator, steps the optimiser with the configured clipping,
evaluates on a fixed held-out set, logs to ``metrics.jsonl`` (and TensorBoard when installed),
and checkpoints atomically at every evaluation. A resumed run continues bit for bit. With
``train.select_best`` it also scores a validation set at each evaluation and keeps the best
parameters on it in ``best.pt``. Started by torchrun, several processes train one model
together (:mod:`augrnn.train.distributed`).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from augrnn.registry import build_model, describe_model, task_class
from augrnn.tasks.base import Batch
from augrnn.train import distributed
from augrnn.train.checkpoint import (
    BEST_NAME,
    CheckpointError,
    checkpoint_path,
    remove_orphans,
    save_checkpoint,
)
from augrnn.train.config import SCHEDULES, Config, ConfigError, OptimConfig
from augrnn.train.evaluation import evaluate, evaluation_set, move_batch
from augrnn.train.runs import (
    METRICS_NAME,
    MetricsLog,
    load_parameters,
    read_run_checkpoint,
    write_config,
)


class TrainingDiverged(RuntimeError):
    """The loss, the gradients or the parameters became NaN or infinite. ``kept`` says what the
    run folder holds afterwards (the step of its last checkpoint, or that it has none); the
    trainer sets it."""

    kept: str = ""


class TrainingOutOfMemory(RuntimeError):
    """The model, or one step of training it, needs more memory than the device has."""


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    sequences: int
    elapsed: float
    eval_metrics: dict[str, float]
    reached_target: bool


def build_optimizer(params, config: OptimConfig) -> torch.optim.Optimizer:
    """Adam, (centred) RMSprop or SGD over ``params``. Adam runs its fused kernel where every
    parameter allows it (floating point, on the CPU or a GPU): on the CPU, torch's default is a
    Python loop over the parameters, several times slower for models of this size."""
    params = list(params)
    if config.name == "rmsprop":
        # centered=True is Graves's (2013) form: the gradient's running mean is subtracted.
        return torch.optim.RMSprop(
            params,
            lr=config.lr,
            alpha=config.rmsprop_decay,
            eps=config.eps,
            momentum=config.momentum,
            centered=True,
            foreach=True,
        )
    if config.name == "adam":
        return torch.optim.Adam(params, lr=config.lr, fused=_can_fuse(params) or None)
    if config.name == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, foreach=True)
    raise ValueError(f"optim.name must be 'rmsprop', 'adam' or 'sgd', got {config.name!r}")


def _can_fuse(params: list[Tensor]) -> bool:
    return all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)


def build_schedule(
    optimizer: torch.optim.Optimizer, config: OptimConfig, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """The learning-rate schedule over ``total_steps`` optimiser steps."""
    if config.schedule == "constant":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    if config.schedule == "cosine":
        floor = config.min_lr_ratio

        def factor(step: int) -> float:
            progress = min(step / max(total_steps, 1), 1.0)
            return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    if config.schedule == "step":
        every, decay = config.decay_every, config.decay_factor
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: decay ** (step // every))
    raise ValueError(f"optim.schedule must be one of {SCHEDULES}, got {config.schedule!r}")


class Trainer:
    """Trains ``config`` in ``run_dir``; ``resume=True`` continues from the run's checkpoint."""

    def __init__(self, config: Config, run_dir: Path | str, *, resume: bool = False):
        self.config = config
        self.run_dir = Path(run_dir)
        tc = config.train
        check_device_present(tc.device)
        #: This process's place among those training the model together (torchrun).
        self.ranks = distributed.current()
        check_distributable(config, self.ranks)
        if resume:
            payload, saved = self.ranks.on_main(lambda: read_run_checkpoint(self.run_dir))
            check_resumable(saved, config)
        else:
            self.ranks.on_main(lambda: check_new_run(self.run_dir))
        #: The step of the checkpoint in the run folder (None: there is none yet), and how much
        #: of metrics.jsonl it accounts for.
        self.saved_step: int | None = payload["step"] if resume else None
        self.metrics_bytes: int | None = payload.get("metrics_bytes") if resume else None
        if tc.threads is not None:
            torch.set_num_threads(tc.threads)
        torch.manual_seed(tc.seed)
        self.task = task_class(config.task_name)(config.task)
        # Mixed precision: autocast for the forward pass; float16 also scales the loss so small
        # gradients do not flush to zero (a step whose scaled gradients overflow is skipped).
        self.autocast = torch.autocast(
            torch.device(tc.device).type,
            dtype=torch.bfloat16 if tc.precision == "bfloat16" else torch.float16,
            enabled=tc.precision != "float32",
        )
        self.elapsed = 0.0
        #: With ``restarts``: the trials trained so far, the best one's trial number, seed and
        #: validation headline value, and whether the search is over (all trials trained, or
        #: one reached the target).
        self.trials_done = 0
        self.best_trial: dict[str, Any] | None = None
        self.search_finished = False
        self._start(tc.seed, reseed=False)
        if resume:
            try:
                self._restore(payload)
            except CheckpointError as err:
                before, after = saved.to_dict(), config.to_dict()
                if all(before[key] == after[key] for key in ("task", "model")):
                    raise
                raise ConfigError(
                    f"a resumed run keeps the shapes of its parameters, and these settings "
                    f"change them: {err}"
                ) from err
            self._apply_optim_settings()
            if self.metrics_bytes is None:  # saved before checkpoints recorded it
                self.metrics_bytes = _metrics_bytes_up_to(self.run_dir, self.step)
        self.eval_batches = evaluation_set(self.task, config)
        self.validation_batches = (
            evaluation_set(self.task, config, seed=tc.validation_seed) if tc.select_best else None
        )

    def _start(self, seed: int, reseed: bool = True) -> None:
        """A fresh model, optimiser and data stream from ``seed``, at step 0 (``reseed=False``:
        torch's generator was seeded already, before the task was built)."""
        config, tc = self.config, self.config.train
        if reseed:
            torch.manual_seed(seed)
        check_memory(config, self.task)
        try:
            self.model = build_model(config.model, self.task.input_size, self.task.output_size)
            self.model.to(tc.device)
        except (torch.OutOfMemoryError, RuntimeError) as err:
            if not _is_out_of_memory(err):
                raise
            raise _out_of_memory(err, config, "building the model") from err
        for option, wanted, supported in (
            ("compile", tc.compile, self.model.supports_compile),
            (
                "checkpoint_every",
                tc.checkpoint_every is not None,
                self.model.supports_checkpointing,
            ),
        ):
            if wanted and not supported:
                raise ValueError(
                    f"train.{option} is not supported by the model {describe_model(config.model)}"
                )
        if tc.checkpoint_every is not None:
            self.model.set_checkpointing(tc.checkpoint_every)
        if tc.compile:
            self.model.compile_step(chunk_steps=tc.compile_chunk, direct=tc.compile_direct)
        #: The loss as DistributedDataParallel computes it, averaging the gradients across
        #: the ranks in the backward pass (None: one process).
        self.data_parallel = None
        if self.ranks.distributed:
            self.data_parallel = distributed.data_parallel(self.model, self.task, self.ranks)
            # Dropout and noise differ between ranks, as their episodes do.
            torch.manual_seed(distributed.rank_seed(seed, self.ranks.rank))
        self.optimizer = build_optimizer(self.model.parameters(), config.optim)
        device_type = torch.device(tc.device).type
        self.scaler = torch.amp.GradScaler(device_type, enabled=tc.precision == "float16")
        self.schedule = build_schedule(self.optimizer, config.optim, tc.steps)
        self.generator = torch.Generator().manual_seed(distributed.rank_seed(seed, self.ranks.rank))
        self.step = 0
        self.sequences = 0
        self.curriculum_length = tc.curriculum_start
        self.last_eval: dict[str, float] = {}
        #: With ``select_best``: the last validation metrics and the best headline value so far.
        self.last_validation: dict[str, float] = {}
        self.best_validation: float | None = None
        #: Steps skipped for non-finite gradients: in all, and in a row up to now.
        self.skipped_steps = 0
        self.nonfinite_in_row = 0

    def _restore(self, payload: dict[str, Any]) -> None:
        load_parameters(self.model, payload["model"], self.config, checkpoint_path(self.run_dir))
        self.optimizer.load_state_dict(payload["optimizer"])
        self.schedule.load_state_dict(payload["schedule"])
        if payload.get("scaler"):
            self.scaler.load_state_dict(payload["scaler"])
        self._restore_random_state(payload)
        self.step = payload["step"]
        self.sequences = payload["sequences"]
        self.elapsed = payload["elapsed"]
        self.curriculum_length = payload["curriculum_length"]
        self.last_eval = payload["eval_metrics"]
        self.skipped_steps = payload.get("skipped_steps", 0)
        self.nonfinite_in_row = payload.get("nonfinite_in_row", 0)
        self.last_validation = payload.get("validation_metrics", {})
        self.best_validation = payload.get("best_validation")
        trials = payload.get("trials", {})
        self.trials_done = trials.get("done", 0)
        self.best_trial = trials.get("best")
        self.search_finished = trials.get("finished", False)

    def _restore_random_state(self, payload: dict[str, Any]) -> None:
        """This rank's data generator and torch's generator as saved; a rank the run did not
        have when it was saved (resumed with more processes) draws from a new stream, seeded
        from its rank and the step."""
        rank = self.ranks.rank
        if rank == 0:
            self.generator.set_state(payload["generator"])
            torch.set_rng_state(payload["torch_rng"])
            return
        others = payload.get("rank_states", [])
        if payload.get("world_size", 1) == self.ranks.world_size and len(others) >= rank:
            generator_state, torch_state = others[rank - 1]
            self.generator.set_state(generator_state)
            torch.set_rng_state(torch_state)
            return
        seed = distributed.rank_seed(self.config.train.seed + payload["step"], rank)
        self.generator.manual_seed(seed)
        torch.manual_seed(seed)

    def _apply_optim_settings(self) -> None:
        """Give the restored optimiser and schedule the config's settings (a resumed run may
        change the learning rate, RMSProp's momentum, decay and ε; the schedule and clipping are
        read from the config anyway)."""
        oc = self.config.optim
        self.schedule.base_lrs = [oc.lr for _ in self.schedule.base_lrs]
        factor = self.schedule.lr_lambdas[0](self.schedule.last_epoch)
        for group in self.optimizer.param_groups:
            group["initial_lr"] = oc.lr
            group["lr"] = oc.lr * factor
            if oc.name == "rmsprop":
                group.update(momentum=oc.momentum, alpha=oc.rmsprop_decay, eps=oc.eps)
                if oc.momentum > 0:
                    # a run saved with momentum 0 has no momentum buffers yet
                    for p in group["params"]:
                        state = self.optimizer.state.get(p)
                        if state and "momentum_buffer" not in state:
                            state["momentum_buffer"] = torch.zeros_like(p)

    def checkpoint(self) -> Path:
        """Save the run as it stands (refused for parameters that are not finite)."""
        self._check_parameters()
        return self._save()

    def _save(self) -> Path:
        # Every rank's random state, so that the same number of ranks resumes exactly.
        states = self.ranks.gather((self.generator.get_state(), torch.get_rng_state()))
        path = checkpoint_path(self.run_dir)
        if self.ranks.is_main:
            payload = self._payload()
            if self.ranks.distributed:
                payload.update(world_size=self.ranks.world_size, rank_states=states[1:])
            path = save_checkpoint(self.run_dir, payload)
        self.saved_step = self.step
        return path

    def _check_parameters(self) -> None:
        """Raise :class:`TrainingDiverged` if a parameter is NaN or infinite, so that no such
        parameters are ever saved (the loss and gradients of the step that made them may
        still have been finite)."""
        if not all(bool(torch.isfinite(p).all()) for p in self.model.parameters()):
            raise TrainingDiverged(f"the parameters became NaN or infinite by step {self.step}")

    def _payload(self) -> dict[str, Any]:
        """Everything a resumed run needs, as the checkpoint holds it (the model's and the
        optimiser's tensors by reference)."""
        return {
            "config": self.config.to_dict(),
            "identity": self.config.identity(),
            "metrics_bytes": self.metrics_bytes,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict(),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "step": self.step,
            "sequences": self.sequences,
            "elapsed": self.elapsed,
            "curriculum_length": self.curriculum_length,
            "eval_metrics": self.last_eval,
            "skipped_steps": self.skipped_steps,
            "nonfinite_in_row": self.nonfinite_in_row,
            "validation_metrics": self.last_validation,
            "best_validation": self.best_validation,
            "trials": self._trials(),
        }

    def _trials(self) -> dict[str, Any]:
        return {"done": self.trials_done, "best": self.best_trial, "finished": self.search_finished}

    def sample_batch(self) -> tuple[Batch, bool]:
        """A training batch, and whether it is at (or past) the curriculum's current level."""
        if self.curriculum_length is not None:
            low, high = self.task.train_lengths
            level = max(low, self.curriculum_length)
            if self.config.train.curriculum == "mixed":
                length = self._mixed_length(low, high, level)
                return self.task.sample(self.rank_batch_size, self.generator, length), (
                    length >= level
                )
            if self.curriculum_length < high:
                # One length per batch, uniform over [low, current maximum].
                length = int(torch.randint(low, level + 1, (1,), generator=self.generator))
                batch = self.task.sample(self.rank_batch_size, self.generator, length)
                return batch, length == level
        return self.task.sample(self.rank_batch_size, self.generator), False

    def _mixed_length(self, low: int, high: int, level: int) -> int:
        """The NRAM paper's draw (App. B) at difficulty ``level``: see ``train.curriculum``."""
        draw = float(torch.rand((), generator=self.generator))
        if draw < 0.1:
            return int(torch.randint(low, high + 1, (1,), generator=self.generator))
        # e ~ Geometric(1/2): P(e >= k) = P(u < 2^-k) = 2^-k.
        u = float(torch.rand((), generator=self.generator))
        top = min(high, level + int(math.floor(-math.log2(max(u, 1e-30)))))
        if draw < 0.35:
            return int(torch.randint(low, top + 1, (1,), generator=self.generator))
        return top

    @property
    def rank_batch_size(self) -> int:
        """This process's share of ``train.batch_size``."""
        return self.config.train.batch_size // self.ranks.world_size

    def _train_step(self, batch: Batch) -> tuple[float, float]:
        """One optimiser step; returns the batch's cost (bits per sequence) and scored steps."""
        batch = move_batch(batch, self.config.train.device)
        with self.autocast:
            if self.data_parallel is not None:
                loss, task_loss = self.data_parallel(batch)
            else:
                loss, task_loss = self.model.loss(self.task, batch)
        # Every rank stops if one's loss is not finite, before the backward pass (where the
        # others would wait for its gradients).
        if not self.ranks.all_true(bool(torch.isfinite(loss))):
            value = "NaN or infinite on some rank" if self.ranks.distributed else loss.item()
            raise TrainingDiverged(f"the loss became {value} at step {self.step + 1}")
        self.optimizer.zero_grad(set_to_none=True)
        # Under DDP the gradients are averaged in here, before unscaling: every rank then sees
        # the same overflow, if any.
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.optimizer)
        oc = self.config.optim
        if oc.clip_value is not None:
            nn.utils.clip_grad_value_(self.model.parameters(), oc.clip_value)
        # With no norm limit, an infinite one still returns the total norm, in one fused pass.
        max_norm = oc.clip_norm if oc.clip_norm is not None else math.inf
        finite = bool(torch.isfinite(nn.utils.clip_grad_norm_(self.model.parameters(), max_norm)))
        scored_steps = float(batch.mask.sum()) / batch.mask.shape[1]
        cost = task_loss.item() / math.log(2)
        if not finite and not self.scaler.is_enabled():
            allowed = self.config.train.skip_nonfinite
            if self.nonfinite_in_row >= allowed:
                in_row = f" ({allowed + 1} steps in a row)" if allowed else ""
                raise TrainingDiverged(
                    f"the gradients became NaN or infinite at step {self.step + 1}{in_row}"
                )
            self.nonfinite_in_row += 1
            self.skipped_steps += 1
        else:
            self.nonfinite_in_row = 0
            self.scaler.step(self.optimizer)  # skipped when float16's scaled gradients overflowed
            self.scaler.update()
        self.schedule.step()
        return cost, scored_steps

    def _advance_curriculum(self, cost_per_step: float) -> None:
        """Lengthen the curriculum by one once a batch at its longest length is below the
        threshold (shorter batches are no evidence that the longest is learned)."""
        if cost_per_step < self.config.train.curriculum_threshold:
            self.curriculum_length += 1

    def train(self, progress: bool = True) -> TrainResult:
        """Run until ``train.steps``, the target metric or the time limit; returns the summary.
        With ``train.restarts``, the trials come first (see :meth:`_search`)."""
        tc = self.config.train
        searching = tc.restarts > 1 and not self.search_finished
        if self.ranks.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            remove_orphans(self.run_dir)
            write_config(self.run_dir, self.config)
            # Trials restart their step count, so TensorBoard's events can only be purged by
            # step once the search is over.
            purge = self.step + 1 if self.saved_step is not None and not searching else None
            log = MetricsLog(self.run_dir, tc.tensorboard, self.metrics_bytes, purge)
        else:
            log = NoLog()
        try:
            if searching:
                self._search(log, progress)
                # The chosen trial's held-out and validation figures, and its best.pt.
                self._evaluate_and_checkpoint(log)
            self._run_steps(log, progress, tc.steps, evaluate=True)
        except TrainingDiverged as err:
            err.kept = self.kept()
            raise
        except (torch.OutOfMemoryError, RuntimeError) as err:
            if not _is_out_of_memory(err):
                raise
            raise _out_of_memory(err, self.config, f"step {self.step + 1}", self.kept()) from err
        finally:
            log.close()
        return TrainResult(
            self.run_dir,
            self.step,
            self.sequences,
            self.elapsed,
            self.last_eval,
            self._reached_target(),
        )

    def kept(self) -> str:
        """What the run folder holds to resume from, in words."""
        if self.saved_step is None:
            return (
                f"no checkpoint was written ({self.run_dir} gets its first at the first evaluation)"
            )
        return f"the checkpoint of step {self.saved_step:,} in {self.run_dir} is kept"

    def _out_of_time(self) -> bool:
        minutes = self.config.train.max_minutes
        return minutes is not None and self.elapsed >= 60 * minutes

    def _search(self, log: MetricsLog, progress: bool) -> None:
        """Random restarts: train the trials not yet done (trial k from seed + 1000 k) for
        ``restart_steps`` each, score each at its end on the validation set (logged as split
        ``trial``), checkpoint the best so far after each (so that a resumed run goes on with
        the next trial), and leave the trainer holding the best. Stops early once a trial
        reaches ``target`` or the time runs out."""
        tc = self.config.train
        headline = self.task.headline_metric
        best = self._payload() if self.best_trial is not None else None
        for trial in range(self.trials_done, tc.restarts):
            if best is not None and self._out_of_time():
                break  # a run resumed without more time: no trial would train a step
            seed = tc.seed + 1000 * trial
            if trial > 0:
                self._start(seed)
            label = f"trial {trial + 1}/{tc.restarts}"
            self._run_steps(log, progress, tc.restart_steps, evaluate=False, label=label)
            validation = self._validate()
            value = validation[headline]
            log.write(
                "trial",
                self.step,
                self.sequences,
                {"trial": trial, "seed": seed, **validation, "elapsed": self.elapsed},
            )
            self.trials_done = trial + 1
            self.metrics_bytes = log.size()
            if self.best_trial is None or value < self.best_trial["validation"]:
                self._check_parameters()
                self.best_trial = {"trial": trial, "seed": seed, "validation": value}
                best = self._payload()
            # A trial that reaches the target is the best one: the search would have ended
            # at an earlier one that did.
            self.search_finished = self._reached_target() or self.trials_done == tc.restarts
            best.update(
                elapsed=self.elapsed, trials=self._trials(), metrics_bytes=self.metrics_bytes
            )
            save_checkpoint(self.run_dir, best)
            self.saved_step = best["step"]
            if self.search_finished or self._out_of_time():
                break
        # The model in hand has the best one's shapes: its tensors take the best one's values.
        self._restore(best)

    def _run_steps(
        self,
        log: MetricsLog,
        progress: bool,
        steps: int,
        *,
        evaluate: bool,
        label: str = "",
    ) -> None:
        """Train up to step ``steps`` (or the target, with ``evaluate``, or the time limit).
        With ``evaluate``: evaluate and checkpoint every ``eval_every`` steps and at the end,
        and log training figures as split ``train``; without (a trial), log them as split
        ``trial_train`` and neither evaluate nor checkpoint."""
        from tqdm.auto import tqdm

        tc = self.config.train
        headline = self.task.headline_metric
        name = self.config.preset or self.config.task_name
        bar = tqdm(
            total=steps,
            initial=self.step,
            disable=not progress or not self.ranks.is_main,
            unit="step",
            dynamic_ncols=True,
            desc=f"{name} {label}".strip(),
        )
        start = time.perf_counter() - self.elapsed
        running: float | None = None
        reached = evaluate and self._reached_target()
        try:
            while self.step < steps and not reached and not self._out_of_time():
                batch, at_curriculum_top = self.sample_batch()
                cost, scored = self._train_step(batch)
                self.step += 1
                self.sequences += tc.batch_size
                cost, scored, top_cost, self.elapsed = self.ranks.agree_step(
                    cost, scored, at_curriculum_top, time.perf_counter() - start
                )
                running = cost if running is None else 0.95 * running + 0.05 * cost
                if top_cost is not None:
                    self._advance_curriculum(top_cost)
                bar.update(1)
                if self.step % tc.log_every == 0:
                    values = {
                        "cost_bits": cost,
                        "elapsed": self.elapsed,
                        "lr": self.optimizer.param_groups[0]["lr"],
                    }
                    if self.curriculum_length is not None:
                        values["curriculum_length"] = self.curriculum_length
                    if self.skipped_steps:
                        values["skipped_steps"] = self.skipped_steps
                    log.write(
                        "train" if evaluate else "trial_train", self.step, self.sequences, values
                    )
                    postfix = {"seqs": self.sequences, "bits/seq": f"{running:.3f}"}
                    if self.last_eval:
                        postfix[f"eval {headline}"] = f"{self.last_eval[headline]:.3f}"
                    bar.set_postfix(postfix, refresh=False)
                if evaluate and (
                    self.step % tc.eval_every == 0 or self.step == steps or self._out_of_time()
                ):
                    self._evaluate_and_checkpoint(log)
                    reached = self._reached_target()
            if evaluate and (not self.last_eval or self.last_eval.get("step") != self.step):
                self._evaluate_and_checkpoint(log)
        finally:
            bar.close()

    def _evaluate_and_checkpoint(self, log: MetricsLog) -> None:
        self._check_parameters()
        # Rank 0 evaluates (every rank holds the same parameters) and the others learn its
        # figures, which decide when to stop.
        self.last_eval, self.last_validation, self.best_validation = self.ranks.on_main(
            lambda: self._evaluate(log)
        )
        self.metrics_bytes = log.size()
        self._save()  # the parameters were checked before evaluating them

    def _evaluate(self, log: MetricsLog) -> tuple[dict[str, float], dict[str, float], float | None]:
        """Score the held-out (and validation) sets, log them and keep best.pt; returns the
        held-out metrics, the validation metrics and the best validation value so far."""
        device = self.config.train.device
        metrics = evaluate(self.model, self.task, self.eval_batches, device)
        self.last_eval = {**metrics, "step": self.step, "sequences": self.sequences}
        log.write("eval", self.step, self.sequences, {**metrics, "elapsed": self.elapsed})
        if self.validation_batches is not None:
            validation = self._validate()
            log.write("validation", self.step, self.sequences, validation)
            value = validation[self.task.headline_metric]
            if self.best_validation is None or value < self.best_validation:
                self.best_validation = value
                # written before the checkpoint that records it, so a crash between the two
                # leaves a best.pt at least as good as the checkpoint says
                save_checkpoint(
                    self.run_dir,
                    {
                        "model": self.model.state_dict(),
                        "identity": self.config.identity(),
                        "step": self.step,
                        "validation_metrics": self.last_validation,
                    },
                    BEST_NAME,
                )
        return self.last_eval, self.last_validation, self.best_validation

    def _validate(self) -> dict[str, float]:
        """The model's metrics on the validation set, also kept as ``last_validation``."""
        device = self.config.train.device
        validation = evaluate(self.model, self.task, self.validation_batches, device)
        self.last_validation = {**validation, "step": self.step}
        return validation

    def _reached_target(self) -> bool:
        """Whether the headline metric is below ``target``: on the validation set with
        ``select_best``, else on the held-out set."""
        target = self.config.train.target
        judged = self.last_validation if self.validation_batches is not None else self.last_eval
        return target is not None and bool(judged) and judged[self.task.headline_metric] < target


def check_new_run(run_dir: Path) -> None:
    """Raise ``FileExistsError`` if ``run_dir`` already holds a run."""
    if checkpoint_path(run_dir).exists():
        raise FileExistsError(
            f"{run_dir} already holds a run; resume it with `augrnn resume {run_dir}` or "
            "choose another --run-dir"
        )


def check_distributable(config: Config, ranks: distributed.Ranks) -> None:
    """Raise :class:`ConfigError` unless ``config`` can train on ``ranks``'s processes: a
    batch that divides among them, no restarts, and the same settings on every rank (a config
    fingerprint compared at the start, the device aside: each rank has its own)."""
    if not ranks.distributed:
        return
    tc = config.train
    if tc.batch_size % ranks.world_size:
        raise ConfigError(
            f"train.batch_size {tc.batch_size} does not divide among {ranks.world_size} "
            f"processes: choose a multiple of {ranks.world_size} (the batch is the whole "
            "batch, split over the processes)"
        )
    if tc.restarts > 1:
        raise ConfigError(
            "train.restarts trains its trials in one process: run it without torchrun"
        )
    settings = config.to_dict()
    settings["train"] = {k: v for k, v in settings["train"].items() if k != "device"}
    prints = ranks.gather(distributed.config_fingerprint(settings))
    if len(set(prints)) > 1:
        differ = [rank for rank, value in enumerate(prints) if value != prints[0]]
        raise ConfigError(
            f"the processes were started with different settings (rank"
            f"{'s' if len(differ) > 1 else ''} {', '.join(map(str, differ))} differ from rank "
            "0): start every process with the same preset and overrides"
        )


class NoLog:
    """The metrics log of a rank that writes none (all but rank 0)."""

    def write(self, split: str, step: int, sequences: int, values: dict[str, float]) -> None:
        pass

    def size(self) -> int:
        return 0

    def close(self) -> None:
        pass


def check_resumable(saved: Config, config: Config) -> None:
    """Raise :class:`ConfigError` unless ``config`` may continue the run saved with ``saved``:
    the same preset, task and model kind (:meth:`Config.identity`) and the same optimiser (the
    checkpoint holds its state). Other settings may change; one that changes the shapes of the
    parameters is refused when they are loaded."""
    if saved.identity() != config.identity():
        raise ConfigError(
            f"a resumed run keeps its preset, task and model kind ({saved.title()}); start a "
            "new run with `augrnn train` for another"
        )
    if saved.optim.name != config.optim.name:
        raise ConfigError(
            f"a resumed run keeps its optimiser ({saved.optim.name}): the checkpoint holds its "
            "state; start a new run for another"
        )


def check_device_present(device: str) -> None:
    """Raise ``ValueError`` unless ``device`` (a valid name) is present on this machine."""
    kind = torch.device(device).type
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"train.device is {device!r} but no CUDA device is available")
        index = torch.device(device).index
        if index is not None and index >= torch.cuda.device_count():
            raise ValueError(
                f"train.device is {device!r} but this machine has {torch.cuda.device_count()} "
                "CUDA device(s), numbered from 0"
            )
    if kind == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"train.device is {device!r} but no MPS device is available")


def _available_bytes(device: str) -> int | None:
    """Free memory on ``device``'s type (None where it cannot be told)."""
    if torch.device(device).type == "cuda":
        return torch.cuda.mem_get_info(torch.device(device))[0]
    try:
        with open("/proc/meminfo") as f:
            fields = dict(line.split(":", 1) for line in f)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None


#: Bytes per parameter in training: the parameter, its gradient and two optimiser statistics,
#: in float32.
TRAINING_BYTES_PER_PARAMETER = 16


def check_memory(config: Config, task) -> None:
    """Refuse, before allocating anything, a model whose parameters, gradients and optimiser
    state alone need more memory than the device has free: the model is first built on the
    ``meta`` device, which allocates nothing."""
    try:
        with torch.device("meta"):
            model = build_model(config.model, task.input_size, task.output_size)
    except Exception:  # a model that cannot be built without memory: the real build will tell
        return
    tensors = [*model.parameters(), *model.buffers()]
    needed = TRAINING_BYTES_PER_PARAMETER * sum(t.numel() for t in tensors)
    free = _available_bytes(config.train.device)
    if free is not None and needed > free:
        count = sum(p.numel() for p in model.parameters())
        raise TrainingOutOfMemory(
            f"the model ({describe_model(config.model)}) has {count:,} parameters and buffers "
            f"whose training needs about {needed / 2**30:,.1f} GiB, more than the "
            f"{free / 2**30:,.1f} GiB free on {config.train.device}: choose smaller sizes"
        )


def _is_out_of_memory(err: BaseException) -> bool:
    text = str(err)
    return isinstance(err, torch.OutOfMemoryError) or (
        "can't allocate memory" in text or "out of memory" in text.lower()
    )


def _out_of_memory(
    err: BaseException, config: Config, during: str, kept: str = ""
) -> TrainingOutOfMemory:
    """A :class:`TrainingOutOfMemory` in place of an allocator's error ``err``."""
    first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
    tail = f"; {kept}" if kept else ""
    return TrainingOutOfMemory(
        f"out of memory on {config.train.device} while {during} of "
        f"{describe_model(config.model)}: {first}. Choose smaller model sizes, a smaller "
        f"--train.batch_size or shorter sequences{tail}"
    )


def _metrics_bytes_up_to(run_dir: Path, step: int) -> int:
    """For a checkpoint saved before checkpoints recorded it: the length of the part of
    metrics.jsonl up to the last complete record of a step no later than ``step``."""
    path = run_dir / METRICS_NAME
    if not path.is_file():
        return 0
    keep = 0
    with path.open("rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break
            try:
                record_step = json.loads(line).get("step", 0)
            except (ValueError, AttributeError):
                break
            if record_step > step:
                break
            keep += len(line)
    return keep
