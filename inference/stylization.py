"""Stylisation measures, offline, so that a model that hands back the photo cannot look good on face metrics.

- flat share: the share of pixels whose Sobel gradient magnitude (OpenCV's 3×3 kernels, unnormalised, on the
  0–255 luma) is under 8. Cartoons are piecewise flat: selfie2anime's anime faces score ≈ 0.51, its selfies
  ≈ 0.21, the White-box author's face model 0.39 on its 49 sample faces.
- photo distance: mean |cartoon − photo| over pixels and RGB channels, on 0–255: how far the cartoon moved
  from the photo (0 for a copy).
- high-frequency ratio: var(Laplacian(cartoon's luma)) / var(Laplacian(photo's luma)) (OpenCV's 3×3 aperture, on
  0–255), averaged over the pairs: the lines and texture a cartoon adds (> 1) or removes (< 1). A cartoon can be
  flat between its regions yet draw many lines: White-box's general model scores ≈ 3.9 on selfies.
- line share: the share of pixels darker than the mean of their 7×7 neighbourhood (OpenCV's box filter, borders
  reflected) by more than 25 levels of the 0–255 luma: ink lines. Flat share and the high-frequency ratio both
  reward softening; a model that erases the lines shows here. Selfies score ≈ 0.015, ``facial_landmarks`` 0.020.
"""
import cv2
import numpy as np

FLAT_BELOW = 8.0
LINE_DARKER_BY, LINE_WINDOW = 25.0, 7


def gradient_magnitude(rgb: np.ndarray) -> np.ndarray:
    """|∇| of the luma: sqrt(Sx² + Sy²) with OpenCV's 3×3 Sobel kernels on 0–255 values."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3))


def flat_share(rgb: np.ndarray) -> float:
    return float((gradient_magnitude(rgb) < FLAT_BELOW).mean())


def line_share(rgb: np.ndarray) -> float:
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float((cv2.blur(gray, (LINE_WINDOW, LINE_WINDOW)) - gray > LINE_DARKER_BY).mean())


def photo_distance(photo: np.ndarray, cartoon: np.ndarray) -> float:
    return float(np.abs(photo.astype(np.float32) - cartoon.astype(np.float32)).mean())


def high_frequency_ratio(photo: np.ndarray, cartoon: np.ndarray) -> float:
    def energy(rgb):
        return float(cv2.Laplacian(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32), cv2.CV_32F).var())
    return energy(cartoon) / max(energy(photo), 1e-6)


def stylization(photos: list[np.ndarray], cartoons: list[np.ndarray], reference: list[np.ndarray] = ()) -> dict:
    """Means over the pairs, with the photos' and the reference cartoons' flat share for scale."""
    out = {"flat_share": float(np.mean([flat_share(c) for c in cartoons])),
           "flat_share_photos": float(np.mean([flat_share(p) for p in photos])),
           "line_share": float(np.mean([line_share(c) for c in cartoons])),
           "photo_distance": float(np.mean([photo_distance(p, c) for p, c in zip(photos, cartoons)])),
           "high_frequency_ratio": float(np.mean([high_frequency_ratio(p, c) for p, c in zip(photos, cartoons)]))}
    if len(reference):
        out["flat_share_reference_cartoons"] = float(np.mean([flat_share(r) for r in reference]))
    return out
