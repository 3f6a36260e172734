"""test.py --eval: face metrics and stylisation measures (always, offline) and FID/KID (when Inception-v3
weights are available)."""
import json
from pathlib import Path

import numpy as np

from inference.fid import InceptionFeatures, features, fid, kid, load_inception_state
from inference.stylization import stylization
from utils.errors import UserError
from utils.faces.metrics import FaceMetrics
from utils.image_io import list_images, read_images


def evaluate(photos: list[np.ndarray], cartoons: list[np.ndarray], out_dir: Path, device, cartoon_dir=None,
             predictor: str | None = None, inception_weights: str | None = None, max_reference: int = 2000) -> dict:
    """Write {out_dir}/metrics.json and print it. FID/KID are left out, with the reason, when offline; the
    reference cartoons' flat share only when ``cartoon_dir`` holds images."""
    try:
        reference = read_reference(cartoon_dir, 100)[0] if cartoon_dir else []
    except UserError:
        reference = []
    face, style = measures(photos, cartoons, FaceMetrics(predictor), reference)
    metrics = {"face": face, "stylization": style}
    try:
        model = InceptionFeatures(load_inception_state(inception_weights)).to(device)
        style, skipped = read_reference(cartoon_dir, max_reference)
        if skipped:
            print(f"FID/KID: {skipped} unreadable file(s) in {cartoon_dir} skipped")
        f_cartoon, f_photo, f_style = (features(model, images, device) for images in (cartoons, photos, style))
        kid_mean, kid_std = kid(f_cartoon, f_style)
        metrics.update(fid_to_cartoon_set=fid(f_cartoon, f_style), kid_to_cartoon_set=kid_mean,
                       kid_std=kid_std, fid_to_photos=fid(f_cartoon, f_photo), cartoon_set_size=len(style),
                       cartoon_set_skipped=skipped)
    except UserError as e:
        metrics["fid_kid_skipped"] = str(e)
        print(f"FID/KID skipped: {e}")
    path = Path(out_dir) / "metrics.json"
    path.write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics, indent=2))
    print(f"metrics: {path}")
    return metrics


def measures(photos: list[np.ndarray], cartoons: list[np.ndarray], face_metrics: FaceMetrics | None,
             reference: list[np.ndarray] = ()) -> tuple[dict, dict]:
    """(face metrics, stylisation measures) of photo -> cartoon pairs: what test.py --eval reports and what
    train.py --eval_every logs. ``face_metrics`` None (no dlib models): the stylisation measures alone."""
    face = face_metrics(photos, cartoons) if face_metrics is not None else {}
    return face, stylization(photos, cartoons, reference)


def read_reference(folder, limit: int) -> tuple[list[np.ndarray], int]:
    """The first ``limit`` readable images of the cartoon set, and how many unreadable files were skipped."""
    files = list_images(folder) if folder and Path(folder).is_dir() else []
    if not files:
        raise UserError(f"{folder}: no cartoon images for FID/KID (pass --cartoon_dir)")
    images, skipped = read_images(files[:limit])
    if not images:
        raise UserError(f"{folder}: none of its {len(skipped)} cartoon files could be decoded for FID/KID")
    return images, len(skipped)
