"""Is a distilled real-time model good enough for the live page? Its measures on held-out selfies beside its
teacher's and the author's face model's:

    python -m studies.live_model --photo_dir ../shared/data/selfie2anime/photo \\
        --student checkpoints/saved_models/live1_batch_16000.pth --out results/live1

The held-out photos are the last --holdout of --photo_dir (sorted), the ones `python distill.py
--holdout` never trains on. Measures (test.py --eval's, as the face study reports them): landmark NME, faces found,
identity distance, flat share, line share, high-frequency ratio, moved from the photo; and the mean PSNR of each
model's cartoon to the teacher's, the model's GFLOP per 256² frame. The aim (the live-page issue): NME and identity
within 10 % of the teacher's, flat share at most 0.02 below it, high-frequency ratio at most the author's model's,
and at most a third of the teacher's FLOPs; and, since flat share and the high-frequency ratio both reward
softening, line share at least 80 % of the teacher's. Writes table.md, live.json and sheet.jpg (photo | teacher |
student).
"""
import argparse
import json
from pathlib import Path

import numpy as np

from inference.cartoonise import Cartooniser, load_generator
from models.released.pretrained import resolve_model
from studies.face_study import COLUMNS, PHOTOS, markdown, score
from utils.errors import UserError, cli
from utils.faces.metrics import FaceMetrics
from utils.image_io import list_images, read_images, write_image
from utils.runtime import pick_device


def gflop_256(G) -> float:
    """Forward FLOPs of one 256² frame (torch's FlopCounterMode), in GFLOP."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        G(torch.zeros(1, 3, 256, 256, device=next(G.parameters()).device))
    return counter.get_total_flops() / 1e9


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / mse)) if mse > 0 else float("inf")


LINES_KEPT = 0.8  # flat share and the high-frequency ratio both reward softening: the ink lines must stay


def verdict(student: dict, teacher: dict, author: dict | None) -> list[str]:
    """What misses the aim (empty: it is met)."""
    misses = []
    for key in ("landmark_nme", "identity_distance"):
        if not student[key] <= 1.1 * teacher[key]:
            misses.append(f"{key} {student[key]:.4f} above 1.1 × the teacher's {teacher[key]:.4f}")
    if not student["flat_share"] >= teacher["flat_share"] - 0.02:
        misses.append(f"flat share {student['flat_share']:.3f} more than 0.02 below the teacher's "
                      f"{teacher['flat_share']:.3f}")
    if not student["line_share"] >= LINES_KEPT * teacher["line_share"]:
        misses.append(f"line share {student['line_share']:.4f} under {LINES_KEPT:.0%} of the teacher's "
                      f"{teacher['line_share']:.4f} (flatness bought by erasing ink lines)")
    if author is not None and not student["high_frequency_ratio"] <= author["high_frequency_ratio"]:
        misses.append(f"high-frequency ratio {student['high_frequency_ratio']:.2f} above the author's model's "
                      f"{author['high_frequency_ratio']:.2f}")
    if not student["gflop_256"] <= teacher["gflop_256"] / 3:
        misses.append(f"{student['gflop_256']:.2f} GFLOP, more than a third of the teacher's "
                      f"{teacher['gflop_256']:.2f}")
    return misses


# the face study's columns but its step time and the landmark reader's NME, and the distillation's own
LIVE_COLUMNS = [*(c for c in COLUMNS if c[0] not in ("ms_per_step", "reader_nme")),
                ("psnr_to_teacher", "PSNR to teacher (dB)", "{:.1f}"),
                ("gflop_256", "GFLOP/256²", "{:.2f}")]


@cli
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photo_dir", required=True)
    p.add_argument("--student", required=True, help="the distilled checkpoint (or a model name)")
    p.add_argument("--teacher", default="facial_landmarks")
    p.add_argument("--author", default="facial", help="the author's face model (the high-frequency bound); '' none")
    p.add_argument("--holdout", type=int, default=100)
    p.add_argument("--out", default="results/live")
    p.add_argument("--device", default="auto")
    opts = p.parse_args(argv)
    files = list_images(opts.photo_dir)
    if len(files) <= opts.holdout:
        raise UserError(f"{opts.photo_dir}: {len(files)} photos, need more than --holdout {opts.holdout}")
    photos, unreadable = read_images(files[-opts.holdout:])
    device, metrics, out = pick_device(opts.device), FaceMetrics(), Path(opts.out)
    models = {"teacher": opts.teacher, "student": opts.student, **({"author": opts.author} if opts.author else {})}
    rows, cartoons = {}, {}
    for role, spec in models.items():
        G = load_generator(resolve_model(spec), device)
        cartoons[role] = Cartooniser(G, device, max_side=256, batch_size=16)(photos)
        rows[role] = {**score(metrics, photos, cartoons[role]), "gflop_256": gflop_256(G), "model": str(spec)}
    for role in rows:
        pairs = zip(cartoons[role], cartoons["teacher"])
        rows[role]["psnr_to_teacher"] = float(np.mean([psnr(a, b) for a, b in pairs]))
    rows[PHOTOS] = score(metrics, photos, photos)
    misses = verdict(rows["student"], rows["teacher"], rows.get("author"))
    named = {f"{role}: {m.get('model', '')}".rstrip(": "): m for role, m in rows.items()}
    table = markdown(named, LIVE_COLUMNS, "model")
    text = (f"{len(photos)} held-out photos of {opts.photo_dir} ({len(unreadable)} unreadable)\n\n{table}\n\n"
            + ("The aim is met." if not misses else "Missed: " + "; ".join(misses) + "."))
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(text + "\n")
    (out / "live.json").write_text(json.dumps({"rows": rows, "missed": misses}, indent=1) + "\n")
    grid = [np.concatenate([photos[i], cartoons["teacher"][i], cartoons["student"][i]], 1)
            for i in range(min(8, len(photos)))]
    write_image(out / "sheet.jpg", np.concatenate(grid, 0))
    print(text)
    print(f"sheet (photo | teacher | student): {out / 'sheet.jpg'}")


if __name__ == "__main__":
    main()
