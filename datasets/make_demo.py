"""Build a tiny unpaired demo set from photos that scikit-image ships, so everything runs with no download.

    python -m datasets.make_demo --out datasets/demo

photo/:   crops of scikit-image's ``astronaut`` (a real face photo) around the face, jittered in scale,
          position, brightness and mirrored.
showcase/: whole scikit-image photos (astronaut, camera, chelsea, coffee) for the released models.
cartoon/: crops of several scikit-image photos turned cartoon-like by a classical recipe: repeated
          edge-preserving (bilateral) smoothing, k-means colour quantisation, and dark edges from an adaptive
          threshold of the median-blurred luma.
"""
import argparse
from pathlib import Path

import cv2
import numpy as np

from utils.image_io import skimage_photo, write_image

FACE_CENTRE = (220, 120)  # (x, y) of the astronaut's face in the 512×512 image
# whole photos, the demo's and the app's examples, with the faces on each (a false face on a scene is a bug)
SHOWCASE_FACES = {"astronaut": 1, "camera": 0, "chelsea": 0, "coffee": 0}
SHOWCASE = tuple(SHOWCASE_FACES)
CARTOON_SOURCES = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "retina")


def photo_crops(n: int, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    image = skimage_photo("astronaut")
    crops = []
    for _ in range(n):
        side = int(rng.uniform(150, 260))
        cx = FACE_CENTRE[0] + int(rng.integers(-20, 21))
        cy = FACE_CENTRE[1] + int(rng.integers(-15, 31))
        x0 = int(np.clip(cx - side // 2, 0, 512 - side))
        y0 = int(np.clip(cy - side // 2, 0, 512 - side))
        crop = cv2.resize(image[y0:y0 + side, x0:x0 + side], (size, size), interpolation=cv2.INTER_AREA)
        crop = np.clip(crop.astype(np.float32) * rng.uniform(0.85, 1.15) + rng.uniform(-12, 12), 0, 255)
        crop = crop.astype(np.uint8)
        crops.append(crop[:, ::-1].copy() if rng.random() < 0.5 else crop)
    return crops


def classical_cartoon(rgb: np.ndarray, colours: int = 8, seed: int = 0) -> np.ndarray:
    """Bilateral smoothing ×5, k-means quantisation to ``colours``, then dark edges (the classical recipe)."""
    smooth = rgb
    for _ in range(5):
        smooth = cv2.bilateralFilter(smooth, 9, 40, 7)
    pixels = smooth.reshape(-1, 3).astype(np.float32)
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    _, labels, centres = cv2.kmeans(pixels, colours, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    flat = centres[labels.ravel()].reshape(rgb.shape).astype(np.uint8)
    gray = cv2.medianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), 5)
    edges = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 9, 4)
    return np.where(edges[..., None] == 0, (flat * 0.25).astype(np.uint8), flat)


def cartoon_crops(n: int, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    crops = []
    for i in range(n):
        image = skimage_photo(CARTOON_SOURCES[i % len(CARTOON_SOURCES)])
        h, w = image.shape[:2]
        side = int(rng.uniform(0.5, 0.9) * min(h, w))
        x0, y0 = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
        crop = cv2.resize(image[y0:y0 + side, x0:x0 + side], (size, size), interpolation=cv2.INTER_AREA)
        crops.append(classical_cartoon(crop, colours=int(rng.integers(6, 11)), seed=i))
    return crops


# make demo's sheets, in the order a newcomer should look at them: real cartoons first, the pipeline check last
DEMO_SHEETS = (
    ("demo_facial_landmarks/sheet.jpg", "facial_landmarks: the face model this repository ships (offline)"),
    ("demo_facial/sheet.jpg", "facial: the White-box author's face model (downloaded)"),
    ("demo_whitebox/sheet.jpg", "whitebox: the released general White-box model (downloaded)"),
    ("0_60/sheet.jpg", "pipeline check: 60 training steps on the demo set, a test of the code, not a cartoon model"),
)


def where(results) -> str:
    """The lines make demo ends with: where each sheet is, or why it is missing."""
    lines = ["make demo's sheets, real cartoons first:"]
    for relative, what in DEMO_SHEETS:
        path = Path(results) / relative
        lines.append(f"  {path}  {what}" if path.is_file() else f"  (none: {what.split(':')[0]} could not be had)")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--where", default=None, metavar="RESULTS",
                   help="only print where make demo's sheets are under RESULTS (real cartoons first), and exit")
    p.add_argument("--out", default="datasets/demo")
    p.add_argument("--num", type=int, default=32, help="images per domain")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    opts = p.parse_args(argv)
    if opts.where:
        print(where(opts.where))
        return
    rng = np.random.default_rng(opts.seed)
    out = Path(opts.out)
    for name, images in (("photo", photo_crops(opts.num, opts.size, rng)),
                         ("cartoon", cartoon_crops(opts.num, opts.size, rng))):
        for i, image in enumerate(images):
            write_image(out / name / f"{i:04d}.png", image)
    for name in SHOWCASE:
        write_image(out / "showcase" / f"{name}.png", skimage_photo(name))
    print(f"demo set: {opts.num} photos in {out / 'photo'}, {opts.num} cartoons in {out / 'cartoon'}")


if __name__ == "__main__":
    main()
