"""Landmark-term ablation: the same training with --w5 0 and with the default, scored on held-out photos.

    python -m utils.training.ablate --photo_dir PHOTOS --cartoon_dir CARTOONS --out results/ablation

Holds out the last --holdout photos (sorted), pretrains once on the rest, trains once per --weights value of
--w5 from that generator with the same --seed (model version 9000 + 100·seed + 10·w5; finished runs in --out are
reused), cartoonises the held-out photos with each, and writes ablation-seed{seed}.json (the three face metrics
of each run), sheet-seed{seed}.jpg (photo | one column per run) and a Markdown table for the README.
Flags after -- go to train.py, e.g. -- --vgg_weights PATH.
"""
import argparse
import json
from pathlib import Path

import numpy as np

import pretrain
import train
from losses.weights import DEFAULTS
from utils.errors import UserError, cli
from utils.faces.metrics import FaceMetrics
from utils.image_io import BadImage, list_images, read_image, write_image
from utils.inference.cartoonise import Cartooniser, load_generator
from utils.runtime import pick_device


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


def markdown(results: dict) -> str:
    lines = ["| run | landmark NME ↓ | cartoon face detected ↑ | identity distance ↓ | identity kept (< 0.6) ↑ |",
             "| --- | --- | --- | --- | --- |"]
    for name, m in results.items():
        lines.append(f"| {name} | {m['landmark_nme']:.4f} | {m['cartoon_face_detected']:.1%} | "
                     f"{m['identity_distance']:.3f} | {m['identity_kept']:.1%} |")
    return "\n".join(lines)


@cli
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photo_dir", required=True)
    p.add_argument("--cartoon_dir", required=True)
    p.add_argument("--out", default="results/ablation")
    p.add_argument("--holdout", type=int, default=100)
    p.add_argument("--image_size", type=int, default=128)
    p.add_argument("--batch_size", type=int, default=4)
    p.add_argument("--pretrain_iter", type=int, default=500)
    p.add_argument("--train_iter", type=int, default=300)
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--weights", type=float, nargs="+", default=[0.0, DEFAULTS["landmark"]], help="values of --w5")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="after --: more flags for train.py")
    opts = p.parse_args(argv)
    extra = [a for a in opts.rest if a != "--"]
    out = Path(opts.out)
    held_out = split(Path(opts.photo_dir), out, opts.holdout)
    common = ["--photo_dir", str(out / "train_photo"), "--image_size", str(opts.image_size), "--batch_size",
              str(opts.batch_size), "--save_dir", str(out / "saved_models"), "--log_dir", str(out / "logs"),
              "--device", opts.device, "--resume"]
    pretrain.main([*common, "--total_iter", str(opts.pretrain_iter), "--save_every", str(opts.pretrain_iter)])
    runs = {f"w5 = {w:g}": (str(9000 + 100 * opts.seed + round(10 * w)), f"{w:g}") for w in opts.weights}
    photos = []
    for f in held_out:
        try:
            photos.append(read_image(f))
        except BadImage as e:
            print(f"skipped {e}")
    device = pick_device(opts.device)
    metrics, cartoons = FaceMetrics(), {}
    for name, (version, w5) in runs.items():
        train.main([*common, "--total_iter", str(opts.train_iter), "--model_version", version, "--w5", w5,
                    "--seed", str(opts.seed), "--cartoon_dir", opts.cartoon_dir, "--save_every",
                    str(opts.train_iter), *extra])
        G = load_generator(out / "saved_models" / f"gen{version}_batch_{opts.train_iter}.pth", device)
        cartoons[name] = Cartooniser(G, device, max_side=720, batch_size=16)(photos)
    results = {name: metrics(photos, images) for name, images in cartoons.items()}
    rows = [np.concatenate([photo, *(cartoons[n][i] for n in runs)], 1) for i, photo in enumerate(photos[:8])]
    sheet = write_image(out / f"sheet-seed{opts.seed}.jpg", np.concatenate(rows, 0))
    settings = {k: getattr(opts, k) for k in ("image_size", "batch_size", "pretrain_iter", "train_iter", "holdout",
                                              "seed")}
    path = out / f"ablation-seed{opts.seed}.json"
    path.write_text(json.dumps({"settings": settings, "results": results}, indent=2) + "\n")
    table = markdown(results)
    print(table)
    print(f"sheet: {sheet}\nmetrics: {path}")


if __name__ == "__main__":
    main()
