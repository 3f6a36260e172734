"""The landmark study: the same training with several values of --w5 and seeds, scored on held-out photos.

    python -m utils.training.ablate --pretrained whitebox --photo_dir PHOTOS --cartoon_dir CARTOONS \
        --out results/study --weights 0 1 --seeds 0 1 -- --vgg_weights random --w3 2e5 --w4 2e5

Holds out the last --holdout photos (sorted); trains on the rest. With --pretrained (a model name or a
checkpoint) every run fine-tunes that generator, and the generator itself, untouched, is the baseline row;
without it, one pretraining run (--pretrain_iter) is shared by all runs. Each run is train.py with
--model_version 9000 + 100·seed + 10·w5 (finished runs in --out are reused). The held-out photos are cartoonised
by each, scored by the face metrics and the stylisation measures of test.py --eval, and written as
study.json, a Markdown table (means over seeds) and sheet.jpg (photo | baseline | one column per --w5, seed of
the first --seeds). Flags after -- go to train.py.
"""
import argparse
import json
from pathlib import Path

import numpy as np

import pretrain
import train
from losses.weights import DEFAULTS
from utils.checkpoint import checkpoint_path
from utils.errors import UserError, cli
from utils.faces.metrics import FaceMetrics
from utils.image_io import BadImage, list_images, read_image, write_image
from utils.inference.cartoonise import Cartooniser, load_generator
from utils.inference.pretrained import resolve_model
from utils.inference.stylization import stylization
from utils.runtime import pick_device

COLUMNS = (("landmark_nme", "landmark NME ↓", "{:.4f}"), ("cartoon_face_detected", "face found ↑", "{:.0%}"),
           ("identity_distance", "identity dist ↓", "{:.3f}"), ("flat_share", "flat share", "{:.2f}"),
           ("photo_distance", "moved from photo", "{:.1f}"))


def split(photo_dir: Path, out: Path, holdout: int) -> list[Path]:
    """Link all but the last ``holdout`` photos into out/train_photo; return the held-out files."""
    files = list_images(photo_dir)
    if len(files) <= holdout:
        raise UserError(f"{photo_dir}: {len(files)} photos, need more than --holdout {holdout}")
    train_dir = out / "train_photo"
    train_dir.mkdir(parents=True, exist_ok=True)
    for f in files[:-holdout]:
        link = train_dir / f.relative_to(photo_dir)
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(f.resolve())
    return files[-holdout:]


def markdown(rows: dict) -> str:
    """One row per run: {name: {metric: value}}."""
    lines = ["| run | " + " | ".join(title for _, title, _ in COLUMNS) + " |",
             "| --- |" + " --- |" * len(COLUMNS)]
    for name, m in rows.items():
        lines.append(f"| {name} | " + " | ".join(fmt.format(m[key]) for key, _, fmt in COLUMNS) + " |")
    return "\n".join(lines)


def score(metrics: FaceMetrics, photos, cartoons) -> dict:
    face = metrics(photos, cartoons)
    keys = ("landmark_nme", "cartoon_face_detected", "identity_distance", "identity_kept", "faces")
    return {**{k: face.get(k, float("nan")) for k in keys}, **stylization(photos, cartoons)}


@cli
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photo_dir", required=True)
    p.add_argument("--cartoon_dir", required=True)
    p.add_argument("--pretrained", default=None, help="fine-tune this model (name or path) instead of pretraining")
    p.add_argument("--out", default="results/study")
    p.add_argument("--holdout", type=int, default=100)
    p.add_argument("--image_size", type=int, default=128)
    p.add_argument("--batch_size", type=int, default=4)
    p.add_argument("--pretrain_iter", type=int, default=500)
    p.add_argument("--train_iter", type=int, default=300)
    p.add_argument("--device", default="auto")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--weights", type=float, nargs="+", default=[0.0, DEFAULTS["landmark"]], help="values of --w5")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="after --: more flags for train.py")
    opts = p.parse_args(argv)
    extra = [a for a in opts.rest if a != "--"]
    out = Path(opts.out)
    held_out = split(Path(opts.photo_dir), out, opts.holdout)
    save_dir = out / "saved_models"
    common = ["--photo_dir", str(out / "train_photo"), "--image_size", str(opts.image_size), "--batch_size",
              str(opts.batch_size), "--save_dir", str(save_dir), "--log_dir", str(out / "logs"),
              "--device", opts.device, "--resume"]
    if opts.pretrained:
        start = resolve_model(opts.pretrained)
    else:
        pretrain.main([*common, "--total_iter", str(opts.pretrain_iter), "--save_every", str(opts.pretrain_iter)])
        start = checkpoint_path(save_dir, "pre_gen", opts.pretrain_iter)
    photos = []
    for f in held_out:
        try:
            photos.append(read_image(f))
        except BadImage as e:
            print(f"skipped {e}")
    device = pick_device(opts.device)
    metrics = FaceMetrics()
    cartoonise = lambda path: Cartooniser(load_generator(path, device), device, batch_size=16)(photos)  # noqa: E731
    runs, cartoons = {}, {"baseline": cartoonise(start)}
    runs["baseline (start, untouched)"] = score(metrics, photos, cartoons["baseline"])
    for seed in opts.seeds:
        for w in opts.weights:
            version = 9000 + 100 * seed + round(10 * w)
            train.main([*common, "--total_iter", str(opts.train_iter), "--model_version", str(version), "--w5",
                        f"{w:g}", "--seed", str(seed), "--cartoon_dir", opts.cartoon_dir, "--save_every",
                        str(opts.train_iter), "--pretrained", str(start), *extra])
            images = cartoonise(checkpoint_path(save_dir, f"gen{version}", opts.train_iter))
            runs[f"w5 = {w:g}, seed {seed}"] = score(metrics, photos, images)
            if seed == opts.seeds[0]:
                cartoons[f"w5 = {w:g}"] = images
    for w in opts.weights:
        rows = [runs[f"w5 = {w:g}, seed {s}"] for s in opts.seeds]
        runs[f"w5 = {w:g}, mean of {len(rows)} seed(s)"] = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    runs["photos themselves"] = score(metrics, photos, photos)
    grid = [np.concatenate([photo, *(c[i] for c in cartoons.values())], 1) for i, photo in enumerate(photos[:8])]
    sheet = write_image(out / "sheet.jpg", np.concatenate(grid, 0))
    settings = {k: getattr(opts, k) for k in ("pretrained", "image_size", "batch_size", "pretrain_iter",
                                              "train_iter", "holdout", "seeds", "weights")}
    path = out / "study.json"
    path.write_text(json.dumps({"settings": {**settings, "train_flags": extra}, "runs": runs}, indent=2) + "\n")
    table = markdown(runs)
    (out / "table.md").write_text(table + "\n")
    print(table)
    print(f"sheet ({', '.join(['photo', *cartoons])}): {sheet}\nmetrics: {path}")


if __name__ == "__main__":
    main()
