"""Reading, converting and writing images. Arrays are RGB uint8 (H, W, 3); tensors are (3, H, W) in [-1, 1]."""
import io
import os
import warnings
from collections import Counter
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import torch

from utils.flags import MAX_MEGAPIXELS

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".heic", ".heif", ".avif", ".gif"}
VIDEO_EXTS = {".mp4", ".avi", ".mov", ".mkv", ".webm"}
MAX_PIXELS = round(MAX_MEGAPIXELS * 1e6)  # --max_megapixels's default (utils.flags), in pixels
OPENCV_FORMATS = {"JPEG", "PNG", "BMP", "WEBP", "TIFF"}  # decoded by OpenCV (the others by Pillow, first frame)


class BadImage(ValueError):
    """An image file that cannot be decoded; the message says why."""


class TooManyPixels(BadImage):
    """An image whose header declares more pixels than the limit: refused before any pixel is decoded."""

    def __init__(self, path, width: int, height: int, limit: int):
        self.width, self.height, self.limit = width, height, limit
        super().__init__(f"{path}: {width}×{height} pixels ({megapixels(width * height)} megapixels) is over the "
                         f"limit of {megapixels(limit)} megapixels (--max_megapixels)")


def megapixels(pixels: int) -> str:
    """900 for 900,000,000 pixels, 0.0768 for 76,800: three significant digits, thousands separated."""
    return f"{pixels / 1e6:,.0f}" if pixels >= 1e8 else f"{pixels / 1e6:.3g}"


def list_images(root, skipped: Counter | None = None) -> list[Path]:
    """Every image under ``root`` (recursive, IMAGE_EXTS, case-insensitive), sorted. Other files are counted in
    ``skipped`` by reason (``skipped_line`` says them in one line)."""
    root = Path(root)
    images = []
    for p in root.rglob("*"):
        if not p.is_file():
            continue
        suffix = p.suffix.lower()
        if suffix in IMAGE_EXTS:
            images.append(p)
        elif skipped is not None:
            skipped[listing_reason(p.name, suffix)] += 1
    return sorted(images)


def listing_reason(name: str, suffix: str) -> str:
    if name.startswith("."):
        return "hidden"
    if suffix in VIDEO_EXTS:
        return f"{suffix} (a video: give it alone to --input)"
    return f"{suffix or 'no extension'} (not an image format)"


def skipped_line(skipped: Counter) -> str:
    """'3 other files skipped: 2 × .txt (not an image format), 1 × hidden', or '' when none were."""
    if not skipped:
        return ""
    total = sum(skipped.values())
    kinds = ", ".join(f"{n} × {reason}" for reason, n in skipped.most_common())
    return f"{total} other file{'' if total == 1 else 's'} skipped: {kinds}"


@cache
def pillow():
    """Pillow, set up once: HEIC/HEIF through pillow-heif, and its decompression-bomb check off, because
    ``read_image`` checks the header against its own, lower limit before any decoding (Pillow's check raises
    before it says the size, and only above 179 megapixels)."""
    from PIL import Image
    from pillow_heif import register_heif_opener

    register_heif_opener()
    Image.MAX_IMAGE_PIXELS = None
    return Image


def image_header(data: bytes):
    """The Pillow image of ``data`` with only its header read (format, size, frames): no pixel is decoded.
    None when Pillow knows no such format."""
    Image = pillow()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a damaged header's warnings: the reader's one line says it
            return Image.open(io.BytesIO(data))
    except Exception:  # Pillow raises many types on a damaged header (syntax, struct, value, EOF, OS errors)
        return None


def read_image(path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode any common image to RGB uint8: JPEG, PNG, BMP, WebP, TIFF, HEIC/HEIF (phone photos), AVIF, and the
    first frame of a GIF or an animated WebP.

    The header is read first: more than ``max_pixels`` pixels is refused before decoding (TooManyPixels).
    OpenCV's IMREAD_COLOR applies the EXIF orientation and converts grayscale, RGBA (alpha dropped), CMYK and
    16-bit files to 8-bit, 3 channels; formats OpenCV does not read go through Pillow, orientation applied the
    same way. A truncated JPEG decodes to a grey-filled image in OpenCV, so a JPEG without its end-of-image marker
    is rejected here.
    """
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as e:
        raise BadImage(f"{path}: cannot read ({e.strerror or e})") from None
    if data.size == 0:
        raise BadImage(f"{path}: empty file")
    is_jpeg = data.size >= 2 and data[0] == 0xFF and data[1] == 0xD8
    if is_jpeg and b"\xff\xd9" not in data[-64:].tobytes():
        raise BadImage(f"{path}: truncated JPEG (no end-of-image marker)")
    header = image_header(data.tobytes())
    if header is None:
        raise BadImage(f"{path}: not a decodable image")
    w, h = header.size
    if w * h > max_pixels:
        raise TooManyPixels(path, w, h, max_pixels)
    image = None
    if header.format in OPENCV_FORMATS and not getattr(header, "is_animated", False):
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        return _pillow_rgb(header, path)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _pillow_rgb(header, path) -> np.ndarray:
    """The first frame of an opened Pillow image, upright (EXIF orientation applied), as RGB uint8."""
    from PIL import ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header.seek(0)
            frame = ImageOps.exif_transpose(header)
            rgb = np.array(frame.convert("RGB"))  # a writable copy (torch refuses read-only arrays)
    except Exception:  # Pillow's decoders raise OSError, ValueError, SyntaxError, EOFError... on damaged data
        raise BadImage(f"{path}: not a decodable image") from None
    return rgb


def read_images(files, limit: int | None = None, max_pixels: int = MAX_PIXELS) -> tuple[list[np.ndarray], list[str]]:
    """The readable images of ``files`` in their order (the first ``limit`` of them), and the one-line reason of
    each file skipped on the way."""
    images, skipped = [], []
    for f in files:
        if limit is not None and len(images) == limit:
            break
        try:
            images.append(read_image(f, max_pixels))
        except BadImage as e:
            skipped.append(str(e))
    return images, skipped


def skimage_photo(name: str) -> np.ndarray:
    """A photo that scikit-image ships (``skimage.data.<name>()``) as RGB uint8 (H, W, 3): gray repeated, alpha
    dropped. For demos, examples and tests that must run without a download."""
    from skimage import data  # here: most users of this module never need scikit-image's data

    image = getattr(data, name)()
    return np.repeat(image[..., None], 3, 2) if image.ndim == 2 else image[..., :3]


def write_image(path, rgb: np.ndarray) -> Path:
    """Write an RGB (or single-channel) uint8 array; the format follows the extension."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    bgr = rgb if rgb.ndim == 2 else cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(path.suffix or ".png", bgr)
    if not ok:
        raise OSError(f"{path}: could not encode image")
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    buf.tofile(tmp)
    os.replace(tmp, path)
    return path


def square_params(h: int, w: int, size: int) -> tuple[int, int, int, int]:
    """Resize the short side to ``size``, then centre-crop: returns (resized h, resized w, crop x0, crop y0)."""
    scale = size / min(h, w)
    rh, rw = max(size, round(h * scale)), max(size, round(w * scale))
    return rh, rw, (rw - size) // 2, (rh - size) // 2


def resize_crop(image: np.ndarray, size: int) -> np.ndarray:
    """Resize the short side to ``size`` (area filter when shrinking) and centre-crop to size × size."""
    h, w = image.shape[:2]
    rh, rw, x0, y0 = square_params(h, w, size)
    interp = cv2.INTER_AREA if rh < h else cv2.INTER_LINEAR
    resized = cv2.resize(image, (rw, rh), interpolation=interp)
    return resized[y0:y0 + size, x0:x0 + size]


def resize_crop_points(points: np.ndarray, h: int, w: int, size: int) -> np.ndarray:
    """Where resize_crop moves pixel coordinates (x, y): pixel centres scale, x' = (x + ½)·rw/w − ½ − x0."""
    rh, rw, x0, y0 = square_params(h, w, size)
    out = np.empty_like(points, dtype=np.float32)
    out[..., 0] = (points[..., 0] + 0.5) * rw / w - 0.5 - x0
    out[..., 1] = (points[..., 1] + 0.5) * rh / h - 0.5 - y0
    return out


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) -> float (3, H, W) in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float().div(127.5).sub(1.0)


def to_batch(images: list[np.ndarray]) -> torch.Tensor:
    """Same-sized uint8 (H, W, 3) images -> float (B, 3, H, W) in [-1, 1]."""
    return torch.stack([to_tensor(image) for image in images])


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(3, H, W) or (1, H, W) in [-1, 1] -> uint8 (H, W, 3); values outside [-1, 1] are clipped."""
    x = x.detach().float().cpu()
    if x.shape[0] == 1:
        x = x.expand(3, -1, -1)
    return ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()


def make_grid(columns: list[torch.Tensor], pad: int = 2) -> np.ndarray:
    """One row per sample, one column per tensor (each (B, C, H, W), C = 1 or 3, in [-1, 1]) -> uint8 RGB."""
    rows = []
    for i in range(columns[0].shape[0]):
        cells = [to_uint8(col[i]) for col in columns]
        h = cells[0].shape[0]
        sep = np.full((h, pad, 3), 255, np.uint8)
        row = [c for cell in cells for c in (cell, sep)][:-1]
        rows.append(np.concatenate(row, axis=1))
        rows.append(np.full((pad, rows[-1].shape[1], 3), 255, np.uint8))
    return np.concatenate(rows[:-1], axis=0)


def letterbox(rgb: np.ndarray, h: int, w: int) -> np.ndarray:
    """Fit inside h × w keeping the aspect ratio, on white."""
    scale = min(h / rgb.shape[0], w / rgb.shape[1])
    nh, nw = max(1, round(rgb.shape[0] * scale)), max(1, round(rgb.shape[1] * scale))
    canvas = np.full((h, w, 3), 255, np.uint8)
    y0, x0 = (h - nh) // 2, (w - nw) // 2
    canvas[y0:y0 + nh, x0:x0 + nw] = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
    return canvas


def contact_sheet(pairs: list[tuple[np.ndarray, np.ndarray]], cell: int = 256, per_row: int = 4,
                  pad: int = 4) -> np.ndarray:
    """(photo, cartoon) pairs as a grid of photo|cartoon cells, ``per_row`` pairs a row, on white."""
    tiles = [np.concatenate([letterbox(a, cell, cell), letterbox(b, cell, cell)], 1) for a, b in pairs]
    rows = []
    for k in range(0, len(tiles), per_row):
        row = tiles[k:k + per_row] + [np.full_like(tiles[0], 255)] * (per_row - len(tiles[k:k + per_row]))
        rows.append(np.concatenate([np.pad(t, ((pad, pad), (pad, pad), (0, 0)), constant_values=255)
                                    for t in row], 1))
    return np.concatenate(rows, 0)


def with_caption(rgb: np.ndarray, text: str, height: int = 28) -> np.ndarray:
    """A white strip with ``text`` (black, one line, shrunk to fit) above the picture."""
    strip = np.full((height, rgb.shape[1], 3), 255, np.uint8)
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.55
    width = cv2.getTextSize(text, font, scale, 1)[0][0]
    scale *= min(1.0, (rgb.shape[1] - 16) / max(width, 1))
    cv2.putText(strip, text, (8, height - 9), font, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([strip, rgb], 0)
