"""A run's curves as one PNG, for sharing without TensorBoard:

    python -m training.plot checkpoints/logs/gen1 [--out curves.png] [--smooth 25]

Reads the run's losses.jsonl (every term, raw and weighted, and the discriminators') and, when the run had
--eval_dir, its eval.jsonl (held-out face metrics and stylisation measures), and draws each against the step:
weighted G terms, D terms, and one panel per held-out measure. Losses are smoothed by a running mean of --smooth
steps (raw values faint behind).
"""
import argparse
import json
from pathlib import Path

import numpy as np

from utils.errors import UserError, cli

EVAL_MEASURES = ("landmark_nme", "identity_distance", "cartoon_face_detected", "flat_share", "line_share",
                 "high_frequency_ratio", "kid_effnet", "photo_distance")


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a run killed mid-line leaves half a record
                print(f"skipped {path}:{n}: not a JSON record")
    return rows


def smooth(values: np.ndarray, k: int) -> np.ndarray:
    if k <= 1 or len(values) < k:
        return values
    return np.convolve(values, np.ones(k) / k, mode="valid")


def plot_run(run: Path, out: Path, k: int = 25) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log = run / "losses.jsonl"
    if not log.is_file():
        raise UserError(f"{run}: no losses.jsonl (pass a run's log folder, e.g. checkpoints/logs/gen1)")
    rows = [r for r in read_jsonl(log) if "nonfinite" not in r]
    if not rows:
        raise UserError(f"{log}: no finite steps to plot")
    evals = read_jsonl(run / "eval.jsonl") if (run / "eval.jsonl").is_file() else []
    measures = [m for m in EVAL_MEASURES if any(m in e for e in evals)]
    panels = [("G: weighted terms", [n for n in rows[-1] if n.endswith("_w")] or ["l1"]),
              ("D", [n for n in rows[-1] if n.startswith("d_")])]
    panels = [(title, names) for title, names in panels if names]
    n = len(panels) + len(measures)
    cols = min(n, 4)
    fig, axes = plt.subplots((n + cols - 1) // cols, cols, figsize=(4.2 * cols, 3.4 * ((n + cols - 1) // cols)),
                             squeeze=False)
    axes = axes.ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    for ax, (title, names) in zip(axes, panels):
        positive = True
        for name in names:
            steps = np.array([r["step"] for r in rows if name in r])
            values = np.array([r[name] for r in rows if name in r])
            line, = ax.plot(steps, values, alpha=0.2)
            s = smooth(values, k)
            ax.plot(steps[len(steps) - len(s):], s, color=line.get_color(), label=name)
            positive &= bool((values > 0).all())
        ax.set_title(title)
        ax.set_yscale("log" if positive else "linear")
        ax.legend(fontsize=7)
    for ax, name in zip(axes[len(panels):], measures):
        ax.plot([e["step"] for e in evals if name in e], [e[name] for e in evals if name in e], "o-")
        ax.set_title(f"held out: {name}")
    for ax in axes[:n]:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.suptitle(run.name)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


@cli
def main(argv=None):
    p = argparse.ArgumentParser(description="Plot a run's loss terms and held-out measures against steps.")
    p.add_argument("run", help="the run's log folder (checkpoints/logs/gen1)")
    p.add_argument("--out", default=None, help="PNG to write (default: RUN/curves.png)")
    p.add_argument("--smooth", type=int, default=25, help="running-mean window of the loss curves, in steps")
    opts = p.parse_args(argv)
    run = Path(opts.run)
    print(f"curves: {plot_run(run, Path(opts.out) if opts.out else run / 'curves.png', opts.smooth)}")


if __name__ == "__main__":
    main()
