"""Everything a training script does around its steps: resume, options.json (with the run's provenance), a jsonl
loss log, TensorBoard events (every loss term, steps/s, sample grids, held-out measures, the options), sample
grids, atomic checkpoints (every N steps, at the end, and on SIGINT/SIGTERM) and the non-finite-loss guard.

    tensorboard --logdir checkpoints/logs      # one run per folder: pre_gen, gen1, ...
"""
import json
import os
import re
import signal
import sys
import time
import types
from pathlib import Path

from training.distributed import Dist, any_rank, gather, unwrap
from utils.checkpoint import (
    capture_rng,
    checkpoint_path,
    load_state,
    prune,
    restore_rng,
    save_checkpoint,
)
from utils.errors import HelperDied, UserError
from utils.image_io import make_grid, write_image
from utils.runtime import describe_arithmetic


def summary_writer(folder, purge_step=None):
    """torch's TensorBoard writer on TensorBoard's TensorFlow-free file layer: with ``tensorboard.compat.notf``
    importable, TensorBoard uses its stub instead of importing TensorFlow when it is installed (TensorFlow loaded
    beside torch makes a later import of triton, through torch._dynamo, segfault). Imported here, not at the top,
    so that --help stays fast."""
    sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(folder), purge_step=purge_step)


def training_state(kind: str, opts, parts: dict, precision, **extra) -> dict:
    """What a checkpoint holds besides step and options: every part's state (DDP wrappers removed), the loss
    scalers, the RNG state of every rank (a collective: call it on all ranks), and ``extra`` (train.py: which
    VGG19 the content terms used)."""
    rngs = gather(capture_rng())
    state = {"kind": kind, "arch": unwrap(parts["G"]).arch(),
             **{name: unwrap(part).state_dict() for name, part in parts.items()},
             "scaler": precision.state_dict(), "arithmetic": precision.arithmetic(), "rng": rngs[0], **extra}
    if len(rngs) > 1:
        state["rng_ranks"] = rngs
    return state


def restore_training_state(ckpt: dict, path, parts: dict, precision, d: Dist, write=print) -> int:
    """Load every part, the scalers and this rank's RNG; return the checkpoint's step.

    A run may continue in other arithmetic than it was trained in (bf16 on a CPU with native bf16, then fp32 on one
    without, where bf16 is emulated about 100× slower): the weights and the optimisers' moments are float32 in
    both, so they carry over as they are; fp16's loss scales are dropped when leaving fp16. Said in one line: from
    that step the run is no longer bit-exact with a continuation in the first arithmetic."""
    for name, part in parts.items():
        load_state(unwrap(part), ckpt[name], path, name)
    was = ckpt.get("arithmetic", precision.arithmetic())
    if was["precision"] == precision.precision:
        precision.load_state_dict(ckpt["scaler"])
    if was != precision.arithmetic() and d.main:
        before = describe_arithmetic(was)
        write(f"{path}: trained in {before} until step {ckpt['step']}; continuing in {precision.describe()} "
              f"(weights and optimiser moments carry over; from here not bit-exact with a {before} continuation)")
    ranks = ckpt.get("rng_ranks", [ckpt["rng"]])
    if len(ranks) == d.world:
        restore_rng(ranks[d.rank])
    else:  # another number of processes: the data shards change anyway, so resume is not bit-exact
        restore_rng(ranks[d.rank % len(ranks)])
        if d.main:
            write(f"warning: {path} was written by {len(ranks)} process(es), resuming with {d.world}: "
                  f"training continues, but not bit-exactly as the original run would have")
    return ckpt["step"]


class Run:
    """Owns a run's folder ({log_dir}/{prefix}) and its checkpoints ({save_dir}/{prefix}_batch_N.pth)::

        with Run(opts, "gen1", write, writes=d.main) as run:
            start = run.resume(resumed, parts, precision, d)   # 0 when starting afresh
            for step in ...: run.record(...); run.end_step(...)
            run.finish(step, skips, "training")
        return run.exit_code

    Inside the ``with``, SIGINT, SIGTERM and SIGUSR1 (SLURM's pre-emption warning, ``--signal=USR1@90``) set a
    flag: the loop saves a checkpoint at the current step and stops with status 128 + the signal. Schedulers
    signal the whole process group (``timeout``, ``scancel``, Kubernetes, torchrun's agent, which also forwards
    the signal to each rank): the helper processes ignore it (``utils.runtime.helper_process``), and a repeat of
    the signal within a second is the same stop. A second Ctrl-C after that stops at once, unsaved.
    A helper process that dies (HelperDied, raised before the step it broke changed anything) leaves the block
    with the last complete step saved, RNG included, and a one-line error saying what died and how to resume.
    In a distributed run only rank 0 writes (``writes=False`` elsewhere); every rank counts non-finite steps
    and signals the same way, so all stop together.
    """

    def __init__(self, opts, prefix: str, write=print, writes: bool = True, provenance: dict | None = None,
                 command: str | None = None):
        """``command``: how the user started the run, for the line that says how to continue it (default: python
        and the script's file name)."""
        self.opts, self.prefix, self.write, self.writes = opts, prefix, write, writes
        self.command = command or f"python {Path(sys.argv[0]).name}"
        self.provenance = provenance or {}
        self.tb = None
        self._last = None  # (time, step) of the previous record, for steps/s
        self.dir = Path(opts.log_dir) / prefix
        self.bad_in_row = self.bad_total = 0
        self.stop_signal = None
        self._signalled_at = 0.0
        self.last_saved: Path | None = None
        self.t0 = time.time()
        self._previous = {}
        self.log = None
        self._complete = None  # (step, state(), RNG after it) of the last complete step, for a helper's death

    def __enter__(self) -> "Run":
        self._previous = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
        return self

    def __exit__(self, exc_type, exc, _tb) -> None:
        try:
            if exc_type is not None and issubclass(exc_type, HelperDied):
                raise UserError(self._save_after(exc)) from None
        finally:
            if self.log is not None:
                self.log.close()
            if self.tb is not None:
                self.tb.close()
            for sig, handler in self._previous.items():
                signal.signal(sig, handler)

    def _save_after(self, died: HelperDied) -> str:
        """Save the last complete step, as a stop by signal does; the line to end the run with."""
        if self._complete is None:
            return f"{died}; no step was complete, nothing saved"
        step, state, rng = self._complete
        restore_rng(rng)  # the broken step had drawn from the generators already
        self.save(step, state())
        return (f"{died}; saved {self.last_saved} (step {step}); continue with: {self.command} "
                f"{resume_flags(self.prefix)}--resume")

    @property
    def exit_code(self) -> int:
        """128 + the signal that stopped the run (the shell's convention), else 0."""
        return 128 + self.stop_signal if self.stop_signal is not None else 0

    def resume(self, checkpoint: dict | None, parts: dict, precision, d: Dist) -> int:
        """Restore ``checkpoint`` (the one --resume named, read and checked once by training.resume; None: a fresh
        run) into ``parts`` and return its step, or 0; then open the run's folder (options.json, losses.jsonl)."""
        start = 0
        if checkpoint is not None:
            start = restore_training_state(checkpoint, self.opts.resume, parts,
                                           precision, d, self.write)  # announced when the options were restored
            self.last_saved = Path(self.opts.resume)  # until this run saves one: a run already at its end says it
        if self.writes:
            self._open(start)
        return start

    def _open(self, start: int) -> None:
        opts, prefix = self.opts, self.prefix
        (self.dir / "samples").mkdir(parents=True, exist_ok=True)
        record = {**vars(opts), "provenance": self.provenance}
        (self.dir / "options.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        # events after the resumed step (from the interrupted run) are dropped, so curves do not double back
        self.tb = summary_writer(self.dir, purge_step=start + 1 if start else None)
        self.tb.add_text("options", "\n".join(f"    {k} = {v}" for k, v in sorted(record.items())), start)
        log = self.dir / "losses.jsonl"
        for name in ("losses.jsonl", "eval.jsonl"):  # the interrupted run's rows past the resumed step go
            keep_rows_up_to(self.dir / name, start)
        self.log = open(log, "a", buffering=1)
        for stale in Path(opts.save_dir).glob(f".{prefix}_batch_*.pth.tmp*"):  # left by a process killed mid-write
            stale.unlink(missing_ok=True)

    def _on_signal(self, signum, _frame):
        now = time.monotonic()
        if self.stop_signal is None:
            self.stop_signal, self._signalled_at = signum, now
        elif signum == signal.SIGINT and now - self._signalled_at > REPEAT_WINDOW_S:  # a person pressed it again
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    def record(self, step: int, losses: dict) -> bool:
        """Log the step; return False (and count it) when the step was skipped for a non-finite loss.

        Raises UserError after --max_bad_steps non-finite steps in a row.
        """
        if self.log is not None:
            self.log.write(json.dumps({"step": step, "time": round(time.time() - self.t0, 3), **losses}) + "\n")
        if self.tb is not None:
            now = time.time()
            for name, value in losses.items():
                if isinstance(value, (int, float)):
                    group = "d" if name.startswith("d_") else ("weighted" if name.endswith("_w") else "loss")
                    self.tb.add_scalar(f"{group}/{name}", value, step)
            if self._last is not None and step > self._last[1]:
                self.tb.add_scalar("speed/steps_per_s", (step - self._last[1]) / max(now - self._last[0], 1e-9),
                                   step)
            self._last = (now, step)
        if "nonfinite" not in losses:
            self.bad_in_row = 0
            return True
        self.bad_in_row += 1
        self.bad_total += 1
        self.write(f"warning: step {step}: non-finite '{losses['nonfinite']}' loss, update skipped "
                   f"({self.bad_in_row} in a row)")
        if self.bad_in_row >= self.opts.max_bad_steps:
            last = self.last_saved or "none"
            raise UserError(f"{self.bad_in_row} non-finite steps in a row at step {step} (last term: "
                            f"'{losses['nonfinite']}'); last good checkpoint: {last}. Lower the learning rate "
                            f"or check the data, then resume")
        return False

    def sample(self, step: int, columns) -> Path | None:
        if not self.writes:
            return None
        grid = make_grid(columns)
        if self.tb is not None:
            self.tb.add_image("samples", grid, step, dataformats="HWC")
        return write_image(self.dir / "samples" / f"{step:07d}.jpg", grid)

    def log_evaluation(self, step: int, measures: dict, sheet) -> None:
        """One held-out evaluation (train.py --eval_every): a row of eval.jsonl, TensorBoard scalars, a sheet."""
        if not self.writes:
            return
        with open(self.dir / "eval.jsonl", "a") as f:
            f.write(json.dumps({"step": step, **measures}) + "\n")
        for name, value in measures.items():
            if isinstance(value, (int, float)) and value == value:
                self.tb.add_scalar(f"eval/{name}", value, step)
        self.tb.add_image("eval", sheet, step, dataformats="HWC")
        write_image(self.dir / "eval" / f"{step:07d}.jpg", sheet)

    def save(self, step: int, state: dict) -> Path | None:
        """Write the step's checkpoint atomically. A failed write keeps training only if an intact one exists."""
        path = checkpoint_path(self.opts.save_dir, self.prefix, step)
        if not self.writes:
            self.last_saved = path
            return None
        try:
            save_checkpoint(path, {"step": step, "options": vars(self.opts), "provenance": self.provenance, **state})
        except OSError as e:
            if self.last_saved is not None and self.last_saved.is_file():
                self.write(f"warning: could not write {path} ({e.strerror or e}); {self.last_saved} is intact, "
                           f"training goes on")
                return None
            raise UserError(f"could not write {path} ({e.strerror or e}) and no earlier checkpoint is intact")
        self.last_saved = path
        prune(self.opts.save_dir, self.prefix, self.opts.keep_last)
        return path

    def should_stop(self) -> bool:
        return self.stop_signal is not None

    def end_step(self, step: int, state, device) -> bool:
        """Checkpoint when due (every --save_every steps, at the last step, on SIGINT/SIGTERM) with ``state()``;
        return whether to stop. The stop is all-reduced, so every rank of a distributed run stops at one step."""
        stop = any_rank(self.should_stop(), device)
        if step % self.opts.save_every == 0 or step == self.opts.total_iter or stop:
            self.save(step, state())
        self._complete = (step, state, capture_rng())
        return stop

    def finish(self, step: int, skips, what: str) -> None:
        """The run's last words: skipped files, skipped steps, and where it stopped or ended."""
        if skips.summary():
            self.write(skips.summary())
        if not self.writes:
            return
        if self.bad_total:
            self.write(f"{self.bad_total} step(s) skipped for non-finite losses (see {self.dir}/losses.jsonl)")
        if self.stop_signal is not None:
            name = signal.Signals(self.stop_signal).name
            self.write(f"stopped by {name} at step {step}; saved {self.last_saved}; continue with: "
                       f"{self.command} {resume_flags(self.prefix)}--resume")
        else:
            self.write(f"{what} done at step {step}: {self.last_saved}")


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)
REPEAT_WINDOW_S = 1.0  # a signal repeated within this is the same stop (a process group's, then a launcher's)


def resume_flags(prefix: str) -> str:
    """The flags that name a run: '--model_version N ' for gen{N} and live{N}, nothing for pretraining."""
    m = re.fullmatch(r"(?:gen|live)(\d+)", prefix)
    return f"--model_version {m.group(1)} " if m else ""


def keep_rows_up_to(log: Path, step: int) -> None:
    """Rewrite a jsonl log keeping its rows of steps ≤ ``step`` (a resumed run writes the later ones again);
    a half-written last line (a process killed mid-write) goes too. Atomic: a temporary file renamed over it."""
    if not log.is_file():
        return
    kept = []
    for line in log.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and isinstance(row.get("step"), int) and row["step"] <= step:
            kept.append(line + "\n")
    tmp = log.with_name(log.name + ".tmp")
    tmp.write_text("".join(kept))
    os.replace(tmp, log)
