"""Prepare a photo folder as aligned face crops (FFHQ-style):  python -m utils.faces.prepare SRC DST --size 256

Each image's best face (dlib) is rotated so the eyes are level and cropped square around the face. Images with
no face, and unreadable files, are listed in DST/no_face.txt and counted; the others go to DST as PNG with the
same relative path.
"""
import argparse
from pathlib import Path

from utils.errors import UserError, cli
from utils.faces.align import align_face
from utils.faces.dlib_models import PREDICTOR_68, model_file
from utils.faces.landmark_cache import map_with_landmarks, worker_landmarks
from utils.flags import spare_cores
from utils.image_io import BadImage, list_images, read_image, write_image


def _prepare(job) -> str | None:
    """Write the aligned crop; return why not (a one-line reason) or None."""
    src, dst, size, scale = job
    try:
        image = read_image(src)
    except BadImage as e:
        return str(e)
    points = worker_landmarks()(image)
    if points is None:
        return f"{src}: no face found"
    write_image(dst, align_face(image, points, size, scale)[0])
    return None


@cli
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--scale", type=float, default=1.0, help="crop size relative to FFHQ's framing")
    p.add_argument("--predictor", default=None)
    p.add_argument("--workers", type=int, default=max(1, spare_cores(8)))
    opts = p.parse_args(argv)
    if opts.size < 16:
        p.error(f"--size {opts.size}: must be at least 16")
    src, dst = Path(opts.src), Path(opts.dst)
    if not src.is_dir():
        raise UserError(f"{src}: folder not found")
    files = list_images(src)
    if not files:
        raise UserError(f"{src}: no images found")
    model_file(PREDICTOR_68, opts.predictor)
    jobs = [(f, dst / f.relative_to(src).with_suffix(".png"), opts.size, opts.scale) for f in files]
    reasons = map_with_landmarks(_prepare, jobs, opts.predictor, opts.workers, "align")
    failed = [r for r in reasons if r]
    dst.mkdir(parents=True, exist_ok=True)
    (dst / "no_face.txt").write_text("".join(f"{r}\n" for r in failed))
    print(f"{len(files) - len(failed)} aligned faces in {dst}; {len(failed)} without a face or unreadable "
          f"(listed in {dst / 'no_face.txt'})")


if __name__ == "__main__":
    main()
