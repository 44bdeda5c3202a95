r"""The training loop of the DNN solver: optimisers, budgets, records, checkpoints.

This private module imports torch at module level; :func:`solvers.dnn.train_network`
imports it only when called.

One iteration is one optimiser step: one Adam update, or one L-BFGS
iteration (its line search may evaluate the loss more than once). At every
step the loss is checked; a non-finite loss stops training and restores the
last weights whose loss was finite. At the recorder's cadence the network is
evaluated on the grid (that evaluation, the measurement and the callback are
excluded from the training clock), the relative residual is tested against
``rtol`` and the callback may stop the run. On Ctrl-C (``KeyboardInterrupt``)
the checkpoint, if one is asked for, is saved and the interrupt propagates.

Learning-rate schedules over the ``T`` Adam steps (factor on ``lr`` at step
``s``, ``r = 0.01``):

.. math::

    \text{cosine: } r + (1 - r)\,\frac{1 + \cos(\pi \min(s, T) / T)}{2}, \qquad
    \text{exponential: } r^{\min(s, T) / T}.
"""

from __future__ import annotations

import contextlib
import math
import os
import time

import numpy as np
import torch

from solvers import _dnn_checkpoint as ckpt
from solvers._dnn_losses import Ansatz, make_loss, stack
from solvers._dnn_net import Network
from solvers.dnn import DEFAULT_MAXITER, TrainedNetwork
from solvers.recording import Recorder, geometric_ratio
from solvers.result import History

LBFGS_CHUNK = 20  #: L-BFGS iterations per call at most (each call re-evaluates the loss once)
LBFGS_HISTORY = 50
SCHEDULE_FLOOR = 0.01
CHECKPOINT_EVERY = 60.0  #: seconds between checkpoints written during a run


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but torch finds no CUDA device; use 'cpu' or 'auto'")
    return torch.device(device)


def schedule_factor(kind: str, total: int):
    """``step -> factor`` on the learning rate (module docstring)."""
    total = max(int(total), 1)
    r = SCHEDULE_FLOOR
    if kind == "cosine":
        return lambda s: r + (1 - r) * (1 + math.cos(math.pi * min(s, total) / total)) / 2
    if kind == "exponential":
        return lambda s: r ** (min(s, total) / total)
    return lambda s: 1.0


@contextlib.contextmanager
def torch_state(threads: int | None):
    """Deterministic algorithms and ``threads`` intra-op threads inside; restored after."""
    before = torch.are_deterministic_algorithms_enabled()
    warn = torch.is_deterministic_algorithms_warn_only_enabled()
    count = torch.get_num_threads()
    torch.use_deterministic_algorithms(True, warn_only=True)
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=warn)
        torch.set_num_threads(count)


def _head(h: History, count: int) -> History:
    """The first ``count`` records of ``h``."""
    return h.head(count)


class _Checks:
    """When to test ``rtol`` if the recorder records only first and last (``record_every=0``)."""

    def __init__(self, recorder: Recorder, maxiter: int):
        self.recorder = recorder
        self.ratio = geometric_ratio(maxiter)
        self.next = 0

    def due(self, step: int) -> bool:
        if self.recorder.record_every != 0:
            return self.recorder.due(step)
        if step >= self.next:
            self.next = max(step + 1, math.ceil(step * self.ratio))
            return True
        return False


def train(problem, settings, options) -> TrainedNetwork:
    """Train per ``settings`` and ``options`` (validated by :mod:`solvers.dnn`)."""
    device = resolve_device(settings.device)
    dtype = getattr(torch, options.dtype)
    maxiter = settings.maxiter or DEFAULT_MAXITER
    if options.optimizer == "adam":
        adam_steps = maxiter
    elif options.optimizer == "lbfgs":
        adam_steps = 0
    else:
        adam_steps = maxiter // 2 if options.adam_steps is None else options.adam_steps
    with torch_state(options.threads):
        return _Run(problem, settings, options, device, dtype, maxiter, adam_steps).run()


class _Run:
    def __init__(self, problem, settings, options, device, dtype, maxiter, adam_steps):
        self.problem, self.settings, self.options = problem, settings, options
        self.maxiter, self.adam_steps = maxiter, adam_steps
        generator = torch.Generator().manual_seed(settings.seed % (1 << 63))
        net = Network(
            problem.grid.lower,
            problem.grid.upper,
            options.widths,
            options.activation,
            options.features,
            options.feature_scale,
            options.init_scale,
            generator,
            dtype,
        )
        self.net = net.to(device)
        self.params = list(self.net.parameters())
        self.ansatz = Ansatz(problem, self.net, options.bc, dtype, device)
        self.loss_fn, self.npoints = make_loss(
            problem, self.ansatz, options.loss, options.sample, options.beta
        )
        self.grid_points = stack(*problem.x)
        self.adam = torch.optim.Adam(self.params, lr=options.lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.adam, schedule_factor(options.schedule, adam_steps)
        )
        self.lbfgs = None
        self.snapshot = [p.detach().clone() for p in self.params]
        self.recorder = Recorder(problem, settings.record_every, maxiter, phase="dnn")
        self.checks = _Checks(self.recorder, maxiter)
        self.last_loss = float("nan")
        self.loss_iteration: list[int] = []
        self.loss_values: list[float] = []
        self.prior_history: History | None = None
        self.start = 0
        self.recording_seconds = 0.0

    # -- optimiser steps ---------------------------------------------------------
    def _closure(self):
        self.lbfgs.zero_grad(set_to_none=True)
        loss = self.loss_fn()
        loss.backward()
        self.last_loss = float(loss.detach())
        return loss

    def _keep(self):
        for s, p in zip(self.snapshot, self.params, strict=True):
            s.copy_(p.detach())

    def _restore(self):
        with torch.no_grad():
            for s, p in zip(self.snapshot, self.params, strict=True):
                p.copy_(s)

    def adam_step(self, step: int) -> str | None:
        """One Adam step from ``step``; a message if the loss is not finite."""
        self.adam.zero_grad(set_to_none=True)
        loss = self.loss_fn()
        value = float(loss.detach())
        if not math.isfinite(value):
            self._restore()
            kept = f"after step {step - 1}" if step >= 1 else "of the initialisation"
            return (
                f"stopped: non-finite loss ({value}) at step {step + 1}; kept the weights {kept},"
                " the last with a finite loss"
            )
        self._keep()
        loss.backward()
        self.adam.step()
        self.scheduler.step()
        self.last_loss = value
        return None

    def lbfgs_steps(self, step: int, count: int) -> tuple[int, str | None, str | None]:
        """Up to ``count`` L-BFGS iterations from ``step``.

        Returns ``(steps to count, message, stopped_by)``; the message is
        ``None`` while training may go on.
        """
        group = self.lbfgs.param_groups[0]
        group["max_iter"] = count
        group["max_eval"] = 2 * count + 2
        state = self.lbfgs.state[self.params[0]]
        before = state.get("n_iter", 0)
        self._keep()
        self.lbfgs.step(self._closure)
        done = state.get("n_iter", 0) - before
        finite = math.isfinite(self.last_loss) and all(
            bool(torch.isfinite(p).all()) for p in self.params
        )
        if not finite:
            self._restore()
            message = (
                f"stopped: non-finite loss or weights in L-BFGS steps {step + 1}-{step + done};"
                f" kept the weights after step {step}, the last with a finite loss"
            )
            return 0, message, "failure"
        if done == 0 or all(
            torch.equal(s, p) for s, p in zip(self.snapshot, self.params, strict=True)
        ):
            return done, f"stopped: L-BFGS made no progress at step {step + 1}", "stalled"
        return done, None, None

    # -- records -----------------------------------------------------------------
    def grid_values(self) -> np.ndarray:
        return self.ansatz.values(self.grid_points).reshape(self.problem.shape)

    def measure(self, step: int, record: bool) -> tuple[str | None, str | None]:
        """Evaluate on the grid, record, test ``rtol``, call back.

        Returns ``(message, stopped_by)``, both ``None`` while training may
        go on. The evaluation, the measurement and the callback are excluded
        from the training clock.
        """
        rec = self.recorder
        t0 = time.perf_counter()
        seconds = rec.elapsed()
        u = self.grid_values()
        message = stopped_by = None
        if not np.all(np.isfinite(u)):
            self._restore()
            u = self.grid_values()
            message = f"stopped: non-finite grid values at step {step}; kept the previous weights"
            stopped_by = "failure"
        rec.overhead += time.perf_counter() - t0
        if record:
            rel = rec.record(step, u)  # excludes its own time from the clock
            self.loss_iteration.append(step)
            self.loss_values.append(self.last_loss)
        else:
            t1 = time.perf_counter()
            rel = self.problem.relative_residual(u)
            rec.overhead += time.perf_counter() - t1
        if message is None and rel <= self.settings.rtol:
            message, stopped_by = f"relative residual {rel:.3e} <= rtol at step {step}", "rtol"
        if message is None and record and self.options.callback is not None:
            t2 = time.perf_counter()
            stop = self.options.callback(step, u.copy(), seconds)
            rec.overhead += time.perf_counter() - t2
            if stop:
                message, stopped_by = f"stopped by the callback at step {step}", "callback"
        self.recording_seconds += time.perf_counter() - t0
        return message, stopped_by

    # -- checkpoints -------------------------------------------------------------
    def history(self) -> History:
        """This run's records, after those of the checkpoint it resumed from.

        A resumed run records its first step again (same weights, same
        numbers); the checkpoint's copy of that record is dropped.
        """
        new = self.recorder.history()
        prior = self.prior_history
        if prior is None:
            return new
        if len(new) and len(prior) and prior.iteration[-1] == new.iteration[0]:
            prior = _head(prior, len(prior) - 1)
        return History.concatenate([prior, new])

    def save(self, step: int) -> None:
        ckpt.save(
            self.options.checkpoint,
            {
                "identity": ckpt.identity(self.problem, self.options),
                "step": int(step),
                "seconds": float(self.recorder.elapsed()),
                "model": self.net.state_dict(),
                "adam": self.adam.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "lbfgs": None if self.lbfgs is None else self.lbfgs.state_dict(),
                "history": self.history().to_dict(),
                "loss_iteration": list(self.loss_iteration),
                "loss": list(self.loss_values),
            },
        )

    def resume(self) -> float:
        """Load the checkpoint if there is one; return its clock (0 when none)."""
        path = self.options.checkpoint
        if path is None or not os.path.exists(path):
            return 0.0
        state = ckpt.load(path, self.problem, self.options)
        self.net.load_state_dict(state["model"])
        self.adam.load_state_dict(state["adam"])
        self.scheduler.load_state_dict(state["scheduler"])
        if state["lbfgs"] is not None:
            self.make_lbfgs()
            self.lbfgs.load_state_dict(state["lbfgs"])
        prior = History.from_dict(state["history"])
        if not np.array_equal(prior.modes, self.recorder.spectrum.modes):
            raise ValueError(f"checkpoint {path!r} tracks other modes than this problem")
        self.prior_history = prior
        self.loss_iteration = list(state["loss_iteration"])
        self.loss_values = list(state["loss"])
        self.start = int(state["step"])
        if self.loss_values:
            self.last_loss = self.loss_values[-1]
            if self.loss_iteration[-1] == self.start:  # recorded again on resuming
                self.loss_iteration.pop()
                self.loss_values.pop()
        return float(state["seconds"])

    def make_lbfgs(self):
        if self.lbfgs is None:
            self.lbfgs = torch.optim.LBFGS(
                self.params,
                lr=1.0,
                max_iter=LBFGS_CHUNK,
                history_size=LBFGS_HISTORY,
                tolerance_grad=0.0,
                tolerance_change=0.0,
                line_search_fn="strong_wolfe",
            )

    # -- the loop ------------------------------------------------------------------
    def run(self) -> TrainedNetwork:
        from tqdm.auto import tqdm

        settings, rec = self.settings, self.recorder
        offset = self.resume()
        step = self.start
        wall0 = time.perf_counter()
        rec.restart_clock(offset)
        message, stopped_by = self.measure(step, record=True)
        bar = tqdm(
            total=self.maxiter,
            initial=step,
            disable=not settings.progress,
            desc=f"dnn {self.problem.name}",
            unit="step",
            leave=False,
        )
        last_save = rec.elapsed()
        try:
            while message is None:
                if step >= self.maxiter:
                    message, stopped_by = f"maxiter = {self.maxiter} steps done", "maxiter"
                    break
                if settings.max_seconds is not None and rec.elapsed() >= settings.max_seconds:
                    message = f"max_seconds = {settings.max_seconds:g} s reached at step {step}"
                    stopped_by = "max_seconds"
                    break
                if step < self.adam_steps:
                    message = self.adam_step(step)
                    done, stopped_by = (0, "failure") if message else (1, None)
                else:
                    if self.lbfgs is None:
                        self.make_lbfgs()
                        if step > 0:
                            rec.mark("lbfgs", step)
                    gap = max(1, rec.next_due(step) - step)
                    count = min(LBFGS_CHUNK, self.maxiter - step, gap)
                    done, message, stopped_by = self.lbfgs_steps(step, count)
                step += done
                bar.update(done)
                if message is not None:
                    break
                record = rec.due(step)
                if record or self.checks.due(step):
                    message, stopped_by = self.measure(step, record)
                    bar.set_postfix(loss=f"{self.last_loss:.3e}", refresh=False)
                if self.options.checkpoint and rec.elapsed() - last_save > CHECKPOINT_EVERY:
                    self.save(step)
                    last_save = rec.elapsed()
        except KeyboardInterrupt:  # save what there is, then let the caller handle Ctrl-C
            if self.options.checkpoint:
                self.save(step)
            raise
        finally:
            bar.close()
        if rec.last_iteration != step:
            self.measure(step, record=True)
        if self.options.checkpoint:
            self.save(step)
        wall = time.perf_counter() - wall0
        seconds = rec.elapsed()
        info = {
            "dnn_steps": int(step),
            "seconds_training": float(seconds),
            "seconds_recording": float(self.recording_seconds),
            "seconds_wall": float(wall),
            "records": len(rec.history()),
            "loss_iteration": list(self.loss_iteration),
            "loss": list(self.loss_values),
            "final_loss": float(self.last_loss),
            "parameters": int(sum(p.numel() for p in self.params)),
            "collocation_points": int(self.npoints),
            "device": str(self.ansatz.device),
            "dtype": self.options.dtype,
            "stopped_by": stopped_by,
            "resumed_from": int(self.start) if self.prior_history is not None else None,
        }
        return TrainedNetwork(
            problem=self.problem,
            options=self.options,
            settings=settings,
            network=self.net,
            history=self.history(),
            steps=int(step),
            seconds=float(seconds),
            converged=stopped_by == "rtol",
            message=message or "",
            loss=np.asarray(self.loss_values, dtype=float),
            info=info,
            ansatz=self.ansatz,
        )
