"""Everything a training script does around its steps: resume, options.json, a jsonl loss log, sample grids,
atomic checkpoints (every N steps, at the end, and on SIGINT/SIGTERM) and the non-finite-loss guard."""
import json
import math
import signal
import sys
import time
from pathlib import Path

from utils.checkpoint import checkpoint_path, list_checkpoints, load_checkpoint, prune, save_checkpoint
from utils.errors import UserError
from utils.image_io import make_grid, write_image
from utils.options import ARCH_OPTIONS, WEIGHTS


def find_resume(opts, prefix: str) -> Path | None:
    """The checkpoint named by --checkpoint N (which must exist) or --resume (the newest, if any)."""
    found = list_checkpoints(opts.save_dir, prefix)
    if opts.checkpoint is not None:
        path = checkpoint_path(opts.save_dir, prefix, opts.checkpoint)
        if not path.is_file():
            have = ", ".join(str(s) for s, _ in found) or "none"
            raise UserError(f"{path}: checkpoint not found (steps saved for {prefix}: {have})")
        return path
    if opts.resume:
        return found[-1][1] if found else None
    return None


def check_resume_options(saved: dict, opts, path, warn=print) -> None:
    """Refuse architecture-affecting changes; allow loss-weight changes with a warning."""
    for name in ARCH_OPTIONS:
        if name in saved and getattr(opts, name, saved[name]) != saved[name]:
            raise UserError(f"{path}: was trained with --{name} {saved[name]}, not {getattr(opts, name)}; "
                            f"resume with --{name} {saved[name]} or start a new --model_version")
    for name in WEIGHTS:
        if name in saved and hasattr(opts, name) and getattr(opts, name) != saved[name]:
            warn(f"warning: --{name} changed from {saved[name]} to {getattr(opts, name)} on resume")


class Run:
    """Owns a run's folder ({log_dir}/{prefix}) and its checkpoints ({save_dir}/{prefix}_batch_N.pth)."""

    def __init__(self, opts, prefix: str, write=print):
        self.opts, self.prefix, self.write = opts, prefix, write
        self.dir = Path(opts.log_dir) / prefix
        (self.dir / "samples").mkdir(parents=True, exist_ok=True)
        (self.dir / "options.json").write_text(json.dumps(vars(opts), indent=2, sort_keys=True) + "\n")
        log = self.dir / "losses.jsonl"
        if log.is_file() and log.stat().st_size and not log.read_bytes().endswith(b"\n"):
            with open(log, "a") as f:  # a process killed mid-line left half a record: close it
                f.write("\n")
        self.log = open(log, "a", buffering=1)
        self.bad_in_row = self.bad_total = 0
        self.stop_signal = None
        self.last_saved: Path | None = None
        self.t0 = time.time()
        for stale in Path(opts.save_dir).glob(f".{prefix}_batch_*.pth.tmp*"):  # left by a process killed mid-write
            stale.unlink(missing_ok=True)
        self._previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}

    def _on_signal(self, signum, _frame):
        self.stop_signal = signum
        signal.signal(signum, signal.SIG_DFL)  # a second Ctrl-C stops at once

    def record(self, step: int, losses: dict) -> bool:
        """Log the step; return False (and count it) when the step was skipped for a non-finite loss.

        Raises UserError after --max_bad_steps non-finite steps in a row.
        """
        self.log.write(json.dumps({"step": step, "time": round(time.time() - self.t0, 3), **losses}) + "\n")
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

    def sample(self, step: int, columns) -> Path:
        return write_image(self.dir / "samples" / f"{step:07d}.jpg", make_grid(columns))

    def save(self, step: int, state: dict) -> Path | None:
        """Write the step's checkpoint atomically. A failed write keeps training only if an intact one exists."""
        path = checkpoint_path(self.opts.save_dir, self.prefix, step)
        try:
            save_checkpoint(path, {"step": step, "options": vars(self.opts), **state})
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

    def close(self, step: int) -> None:
        self.log.close()
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        if self.bad_total:
            self.write(f"{self.bad_total} step(s) skipped for non-finite losses (see {self.dir}/losses.jsonl)")
        if self.stop_signal is not None:
            name = signal.Signals(self.stop_signal).name
            self.write(f"stopped by {name} at step {step}; saved {self.last_saved}; "
                       f"resume with --checkpoint {step}")
            sys.exit(128 + self.stop_signal)


def load_for_resume(path, kind: str, opts, write=print) -> dict:
    ckpt = load_checkpoint(path, kind=kind)
    check_resume_options(ckpt["options"], opts, path, write)
    if not isinstance(ckpt.get("step"), int) or ckpt["step"] < 0 or not math.isfinite(ckpt["step"]):
        raise UserError(f"{path}: has no valid step")
    return ckpt
