"""The one training loop of pretrain.py, train.py and distill.py (as EDM's ``training_loop`` or nanoGPT's loop).

A script builds its networks and hands the loop plain values and a few functions; the loop owns everything
around the steps: the process group, seeding, precision, the endless batch streams, progress, records, samples,
held-out evaluation, signals and checkpoints (``training.run.Run``)::

    session = Session.begin(opts)                      # before any network is built: seeded
    G = ...                                           # the script's networks, optimisers
    return training_loop(opts, session, "pre_gen", {"G": G, "opt_G": opt}, [photos], prepare,
                         "pretraining")

``prepare(start)`` runs once the checkpoint (if any) is loaded into the parts and returns the ``Steps``: what
one step does with its batches, what a checkpoint holds besides the parts, and the sample-grid columns.
"""
import contextlib
from dataclasses import dataclass, field
from typing import Callable

import torch

from datasets.folder import ImageFolder, SkipReport, batches, workers_stopped_after
from training import distributed
from training.distributed import Dist
from training.run import Run, training_state
from utils.progress import progress
from utils.provenance import provenance
from utils.runtime import Precision, seed_everything


@dataclass
class Session:
    """What every run decides once, before its networks are built: the process group and this rank's device,
    where lines go (rank 0 only), the seed (per rank), the arithmetic."""
    d: Dist
    device: torch.device
    write: Callable
    precision: Precision

    @classmethod
    def begin(cls, opts) -> "Session":
        from tqdm import tqdm

        d, device = distributed.setup(opts.device, opts.dist_timeout)
        write = tqdm.write if d.main else (lambda *_: None)
        seed_everything(opts.seed + d.rank)
        precision = Precision.choose(device, opts.precision, opts.channels_last, write if d.main else None)
        return cls(d, device, write, precision)

    def folder(self, root, size: int, limit: int, holdout: int = 0) -> ImageFolder:
        """An image folder of the run, its other files said once."""
        images = ImageFolder(root, size, max_pixels=limit, holdout=holdout)
        if images.other_files:
            self.write(f"{images.root}: {images.other_files}")
        return images

    def images(self, batch: dict) -> torch.Tensor:
        """A batch's images on this rank's device, in the run's memory layout."""
        return self.precision.layout(batch["image"].to(self.device, non_blocking=True))


@dataclass
class Steps:
    """What the loop calls each step. ``step(n, batches)``: one optimisation step on one batch per stream,
    returning its losses (floats); ``state()``: the checkpoint's content besides step and options
    (``training.run.training_state``); ``columns(batches)``: the sample grid's columns; ``evaluate()``: held-out
    measures and their sheet (train.py --eval_dir), or None; ``shown``: the losses the progress bar shows;
    ``closes``: what has helper processes of its own, closed when the loop ends."""
    step: Callable[[int, list[dict]], dict]
    state: Callable[[], dict]
    columns: Callable[[list[dict]], list]
    evaluate: Callable | None = None
    shown: tuple[str, ...] = field(default=("g_total",))
    closes: tuple = ()  # helpers to close (``.close()``) when the loop ends, however it ends (the superpixel pool)


def training_loop(opts, session: Session, prefix: str, parts: dict, datasets: list, prepare,
                  what: str, command: str | None = None, resumed: dict | None = None, desc: str | None = None
                  ) -> int:
    """Train ``parts`` (networks and optimisers by checkpoint name) for steps start+1 … opts.total_iter on
    batches of ``datasets`` (one endless, resumable stream each, seeded opts.seed, opts.seed + 1, …); return
    the exit status (128 + a stopping signal, else 0). ``what``: the run's name in its last line; ``command``: how
    a person continues it; ``resumed``: the checkpoint to continue from (``training.resume.load_for_resume``, read
    once), or None; ``desc``: the progress line's name (default ``prefix``). The checkpoints' kind is in
    ``Steps.state``."""
    s, d = session, session.d
    with Run(opts, prefix, write=s.write, writes=d.main, provenance=provenance(s.device), command=command) as run:
        start = run.resume(resumed, parts, s.precision, d)
        steps = prepare(start)
        skips = SkipReport(s.write)
        streams = [batches(images, opts.batch_size, opts.seed + k, start, opts.workers, opts.flip, d.rank, d.world,
                           pin_memory=s.device.type == "cuda") for k, images in enumerate(datasets)]
        step = start
        with distributed.guard(), closing_all(steps.closes), workers_stopped_after(*streams), \
                progress(initial=start, total=opts.total_iter, unit="step", desc=desc or prefix,
                         disable=not d.main) as bar:
            for step in range(start + 1, opts.total_iter + 1):
                now = [next(stream) for stream in streams]
                for batch in now:
                    skips.update(batch)
                losses = steps.step(step, now)
                if run.record(step, losses):
                    bar.set_postfix({k: f"{losses[k]:.4f}" for k in steps.shown if k in losses})
                last = step == opts.total_iter
                if d.main and (step % opts.sample_every == 0 or last):
                    run.sample(step, steps.columns(now))
                if steps.evaluate is not None and (step % opts.eval_every == 0 or last):
                    run.log_evaluation(step, *steps.evaluate())
                stop = run.end_step(step, steps.state, s.device)
                bar.update()  # after the checkpoint: a stopped run's bar ends at the step it saved
                if stop:
                    break
        run.finish(step, skips, what)
    return run.exit_code


@contextlib.contextmanager
def closing_all(helpers):
    """Close each of ``helpers`` when the block ends, however it ends."""
    with contextlib.ExitStack() as stack:
        for helper in helpers:
            stack.enter_context(contextlib.closing(helper))
        yield


def checkpoint_state(kind: str, opts, parts: dict, precision: Precision, **extra) -> Callable[[], dict]:
    """``Steps.state`` for ``parts``: ``training_state`` when a checkpoint is due (it gathers every rank's RNG)."""
    return lambda: training_state(kind, opts, parts, precision, **extra)
