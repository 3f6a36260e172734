"""Score a from-scratch training run (``make anime_model``) and say whether it is a cartoon model to ship:

    python -m studies.anime_model --run checkpoints/anime --model_version 11 --watch datasets/selfie2anime/watch \
        --report datasets/selfie2anime/report --cartoon_dir ../shared/data/selfie2anime/cartoon --out results/anime

1. The step: from the run's held-out evaluations on the *watch* set (eval.jsonl, written by train.py --eval_dir),
   among the steps with a checkpoint, the one meeting most of the bounds below, ties broken by the lower
   KID-effnet (else the higher flat share). The report set is never used for this choice.
2. The report: that checkpoint and the baselines (--baselines: the shipped facial_landmarks by default) on the
   *report* set at 256²: per photo flat share, line share, high-frequency ratio, landmark NME, identity distance
   and same person (dlib, < 0.6); means with 95 % bootstrap intervals (the same resampled photos for every model:
   paired), and KID-effnet to the cartoon set (KID on EfficientNet-Lite0's pooled features; comparable between
   this project's models only).
3. The verdict, each bound on the report set's mean: flat share ≥ 0.48, line share ≥ 0.020, high-frequency ratio
   ≤ 3.9, the same person on ≥ 90 % of faces, NME ≤ 0.050, and KID-effnet below that of --kid_below (the author's
   face model when it is given as a baseline). With --release PATH the checkpoint is released there only when
   every bound holds. Writes report.json, report.md and sheet.jpg (six report faces: photo | each model).
"""
import argparse
import json
import warnings
from pathlib import Path

import numpy as np

from utils.errors import UserError, cli

BOUNDS = {"flat_share": (">=", 0.48), "line_share": (">=", 0.020), "high_frequency_ratio": ("<=", 3.9),
          "same_person": (">=", 0.90), "landmark_nme": ("<=", 0.050)}
PER_PHOTO = ("flat_share", "line_share", "high_frequency_ratio", "landmark_nme", "identity_distance", "same_person")


def meets(value: float, bound: tuple[str, float]) -> bool:
    op, limit = bound
    return value >= limit if op == ">=" else value <= limit


def watch_row_bounds(row: dict) -> int:
    """How many of the bounds one held-out evaluation (eval.jsonl row) meets; same person read as identity
    distance < 0.6 on average (eval.jsonl holds means)."""
    values = {**row, "same_person": 1.0 if row.get("identity_distance", 1.0) < 0.6 else 0.0}
    return sum(meets(values[k], b) for k, b in BOUNDS.items() if k in values)


def choose_step(evals: list[dict], saved: set[int]) -> tuple[dict, str]:
    """(the chosen eval.jsonl row, why): most bounds met; then lower KID-effnet, else higher flat share."""
    rows = [r for r in evals if r["step"] in saved]
    if not rows:
        raise UserError("no held-out evaluation at a step with a checkpoint (train with --eval_dir and keep the "
                        "checkpoints of the evaluated steps)")
    key = (lambda r: (watch_row_bounds(r), -r["kid_effnet"])) if all("kid_effnet" in r for r in rows) else \
        (lambda r: (watch_row_bounds(r), r["flat_share"]))
    best = max(rows, key=key)
    tie = "lower KID-effnet" if all("kid_effnet" in r for r in rows) else "higher flat share"
    return best, f"step {best['step']}: {watch_row_bounds(best)} of {len(BOUNDS)} bounds on the watch set, then {tie}"


def per_photo(metrics, photos: list[np.ndarray], cartoons: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Each measure per photo (NaN where dlib finds no face on the photo: the face measures)."""
    from inference.stylization import flat_share, high_frequency_ratio, line_share

    out = {"flat_share": [flat_share(c) for c in cartoons], "line_share": [line_share(c) for c in cartoons],
           "high_frequency_ratio": [high_frequency_ratio(p, c) for p, c in zip(photos, cartoons)],
           "landmark_nme": [], "identity_distance": [], "same_person": []}
    for p, c in zip(photos, cartoons):
        pair = metrics.pair(p, c) if metrics is not None else None
        out["landmark_nme"].append(pair["nme"] if pair else np.nan)
        out["identity_distance"].append(pair["identity_distance"] if pair else np.nan)
        out["same_person"].append(float(pair["identity_distance"] < 0.6) if pair else np.nan)
    return {k: np.asarray(v, np.float64) for k, v in out.items()}


def bootstrap(values: dict[str, dict[str, np.ndarray]], rounds: int = 2000, seed: int = 0) -> dict:
    """{model: {measure: (mean, low, high)}}: 95 % intervals of the mean over photos, the same resampled photos
    for every model and measure (paired), NaNs (no face) left out of each mean."""
    rng = np.random.default_rng(seed)
    n = len(next(iter(next(iter(values.values())).values())))
    picks = rng.integers(0, n, (rounds, n))
    out = {}
    with warnings.catch_warnings():  # a measure with no face at all is NaN, said as such in the table
        warnings.simplefilter("ignore", RuntimeWarning)
        for model, measures in values.items():
            out[model] = {}
            for name, v in measures.items():
                means = np.array([np.nanmean(v[p]) for p in picks])
                out[model][name] = (float(np.nanmean(v)), float(np.nanpercentile(means, 2.5)),
                                    float(np.nanpercentile(means, 97.5)))
    return out


def verdict(stats: dict, kid_value: float | None, kid_limit: float | None) -> dict[str, bool]:
    said = {k: meets(stats[k][0], b) for k, b in BOUNDS.items()}
    if kid_limit is not None and kid_value is not None:
        said["kid_effnet"] = kid_value < kid_limit
    return said


def markdown(stats: dict, kids: dict, passed: dict[str, bool], model: str) -> str:
    names = list(PER_PHOTO)
    rows = ["| model | " + " | ".join(names) + " | KID-effnet |", "| --- " * (len(names) + 2) + "|"]
    for m, measures in stats.items():
        cells = [f"{measures[k][0]:.4g} [{measures[k][1]:.4g}, {measures[k][2]:.4g}]" for k in names]
        rows.append(f"| {m} | " + " | ".join(cells) + f" | {kids.get(m, float('nan')):.4g} |")
    if not passed:
        return "\n".join(rows) + "\n"
    bounds = ", ".join(f"{k} {'met' if ok else 'MISSED'}" for k, ok in passed.items())
    return "\n".join(rows) + f"\n\n{model}: {bounds}.\n"


def sheet(columns: list[list[np.ndarray]], size: int, rows: int = 6) -> np.ndarray:
    """The first ``rows`` photos, one row each: photo | each model's cartoon, every image resized to size²."""
    import cv2

    thumb = lambda image: cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)  # noqa: E731
    return np.concatenate([np.concatenate([thumb(c[i]) for c in columns], 1)
                           for i in range(min(rows, len(columns[0])))], 0)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, default=Path("checkpoints/anime"), help="the run's --save_dir parent")
    p.add_argument("--model_version", type=int, default=11)
    p.add_argument("--step", type=int, default=None, help="score this step instead of choosing one")
    p.add_argument("--watch", type=Path, default=Path("datasets/selfie2anime/watch"))
    p.add_argument("--report", type=Path, default=Path("datasets/selfie2anime/report"))
    p.add_argument("--cartoon_dir", type=Path, default=Path("../shared/data/selfie2anime/cartoon"))
    p.add_argument("--baselines", nargs="*", default=["facial_landmarks"], help="model names or checkpoint paths")
    p.add_argument("--kid_below", default=None, help="the baseline whose KID-effnet the model must beat")
    p.add_argument("--out", type=Path, default=Path("results/anime"))
    p.add_argument("--size", type=int, default=256, help="the side the models run at")
    p.add_argument("--release", default=None, help="release the checkpoint here when every bound holds")
    p.add_argument("--device", default="cpu")
    return p


@cli
def main(argv=None):
    opts = parser().parse_args(argv)
    from inference.cartoonise import Cartooniser, load_generator
    from inference.fid import KidEffnet
    from models.released.pretrained import resolve_model
    from training.plot import read_jsonl
    from utils.checkpoint import checkpoint_path, list_checkpoints
    from utils.faces.metrics import FaceMetrics
    from utils.image_io import list_images, read_images, write_image

    prefix, saves = f"gen{opts.model_version}", opts.run / "saved_models"
    if opts.step is None:
        evals = read_jsonl(opts.run / "logs" / prefix / "eval.jsonl")
        row, why = choose_step(evals, {s for s, _ in list_checkpoints(saves, prefix)})
        opts.step = row["step"]
        print(f"chosen on the watch set: {why}")
    chosen = checkpoint_path(saves, prefix, opts.step)
    photos, _ = read_images(list_images(opts.report), 10_000)
    if not photos:
        raise UserError(f"{opts.report}: no readable report photos")
    models = {f"{prefix} step {opts.step}": chosen, **{b: resolve_model(b, print) for b in opts.baselines}}
    cartoons = {m: Cartooniser(load_generator(path, opts.device), opts.device, opts.size)(photos)
                for m, path in models.items()}
    metrics = FaceMetrics()
    stats = bootstrap({m: per_photo(metrics, photos, c) for m, c in cartoons.items()})
    kid = KidEffnet(opts.cartoon_dir, 1000, opts.device)
    kids = {m: kid(c) for m, c in cartoons.items()}
    model = next(iter(models))
    passed = verdict(stats[model], kids[model], kids.get(opts.kid_below))
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / "report.json").write_text(json.dumps({"checkpoint": str(chosen), "stats": stats, "kid_effnet": kids,
                                                       "passed": passed, "photos": len(photos)}, indent=1) + "\n")
    (opts.out / "report.md").write_text(markdown(stats, kids, passed, model))
    write_image(opts.out / "sheet.jpg", sheet([photos, *cartoons.values()], opts.size))
    print((opts.out / "report.md").read_text())
    if opts.release and all(passed.values()):
        from models.released.release import release
        release(chosen, opts.release, "research use only (trained on selfie2anime, whose images are for research)",
                f"make anime_model: {prefix} step {opts.step}, from scratch")
        print(f"released {chosen} -> {opts.release}")
    elif opts.release:
        print(f"not released: {', '.join(k for k, ok in passed.items() if not ok)} missed on the report set")


if __name__ == "__main__":
    main()
