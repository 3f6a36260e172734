"""A long training run carried between machines: its newest checkpoint and its logs, in a folder git tracks.

    python -m studies.run_state save checkpoints/anime gen11 runs/anime      # end of a session: the run's state
    python -m studies.run_state restore checkpoints/anime gen11 runs/anime   # a fresh machine: continue from it

checkpoints/ is git-ignored (users' runs are theirs), so a run that spans sessions on machines that share only
the repository keeps one state in ``runs/``: the newest ``{prefix}_batch_N.pth`` (G, both discriminators, both
optimisers, RNG: ``--resume`` continues it bit for bit) and the logs that make its curve (losses.jsonl,
eval.jsonl, options.json). ``save`` replaces the previous state; ``restore`` copies it in only where the run has
no checkpoint yet, and never over a newer one.
"""
import argparse
import shutil
from pathlib import Path

from utils.checkpoint import list_checkpoints
from utils.errors import UserError, cli

LOGS = ("losses.jsonl", "eval.jsonl", "options.json")


def save(run: Path, prefix: str, state: Path) -> Path:
    """Copy the run's newest checkpoint and its logs to ``state`` (replacing what was there); return the copy."""
    found = list_checkpoints(run / "saved_models", prefix)
    if not found:
        raise UserError(f"{run / 'saved_models'}: no {prefix}_batch_*.pth to save")
    state.mkdir(parents=True, exist_ok=True)
    for old in state.glob(f"{prefix}_batch_*.pth"):
        old.unlink()
    copy = Path(shutil.copy2(found[-1][1], state))
    for name in LOGS:
        log = run / "logs" / prefix / name
        if log.is_file():
            shutil.copy2(log, state / name)
    return copy


def restore(run: Path, prefix: str, state: Path) -> Path | None:
    """Copy ``state``'s checkpoint and logs into the run when it has none of its own; return it, else None."""
    here, kept = list_checkpoints(run / "saved_models", prefix), list_checkpoints(state, prefix)
    if not kept or (here and here[-1][0] >= kept[-1][0]):
        return None
    (run / "saved_models").mkdir(parents=True, exist_ok=True)
    (run / "logs" / prefix).mkdir(parents=True, exist_ok=True)
    copy = Path(shutil.copy2(kept[-1][1], run / "saved_models"))
    for name in LOGS:
        if (state / name).is_file():
            shutil.copy2(state / name, run / "logs" / prefix / name)
    return copy


@cli
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=("save", "restore"))
    p.add_argument("run", type=Path, help="the run's folder (its saved_models/ and logs/)")
    p.add_argument("prefix", help="the run's name, e.g. gen11")
    p.add_argument("state", type=Path, help="the tracked folder holding its state")
    opts = p.parse_args(argv)
    if opts.action == "save":
        print(f"saved {save(opts.run, opts.prefix, opts.state)}")
    else:
        got = restore(opts.run, opts.prefix, opts.state)
        print(f"restored {got}" if got else f"{opts.run}: its own {opts.prefix} checkpoint is the newest; kept")


if __name__ == "__main__":
    main()
