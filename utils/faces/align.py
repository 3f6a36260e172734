"""Face alignment for data preparation and inference: eyes level, a square crop around the face, and the
inverse transform to paste a cartoonised crop back into the photo with a feathered mask.

The crop follows the FFHQ data set's framing (Karras et al., 2019): the square's half-side is
max(2·|eye-to-eye|, 1.8·|eye-to-mouth|) times ``scale``, centred 0.1·eye-to-mouth below the eyes' midpoint,
rotated so the eyes are level.
"""
import cv2
import numpy as np


def align_matrix(points: np.ndarray, size: int, scale: float = 1.0) -> np.ndarray:
    """2×3 affine matrix taking photo pixels to the size × size aligned crop of the face with these landmarks."""
    eye_r, eye_l = points[36:42].mean(0), points[42:48].mean(0)  # subject's right eye is on the image's left
    mouth = (points[48] + points[54]) / 2
    eye_mid = (eye_r + eye_l) / 2
    eye_to_eye, eye_to_mouth = eye_l - eye_r, mouth - eye_mid
    x = eye_to_eye - np.array([-eye_to_mouth[1], eye_to_mouth[0]])  # the face's horizontal axis
    x = x / np.hypot(*x) * max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8) * scale
    y = np.array([-x[1], x[0]])
    c = eye_mid + eye_to_mouth * 0.1
    src = np.float32([c - x - y, c + x - y, c - x + y])  # top-left, top-right, bottom-left
    dst = np.float32([[0, 0], [size, 0], [0, size]])
    return cv2.getAffineTransform(src, dst)


def align_face(rgb: np.ndarray, points: np.ndarray, size: int, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(aligned crop, its 2×3 matrix). Outside the photo the crop mirrors the border."""
    M = align_matrix(points, size, scale)
    crop = cv2.warpAffine(rgb, M, (size, size), flags=cv2.INTER_AREA if size < 256 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)
    return crop, M


def feather_mask(size: int, feather: float = 0.1) -> np.ndarray:
    """1 inside, falling linearly to 0 over the outer ``feather`` fraction of the crop."""
    ramp = np.clip((np.minimum(np.arange(size), np.arange(size)[::-1]) + 0.5) / (feather * size), 0, 1)
    return np.minimum(ramp[:, None], ramp[None, :]).astype(np.float32)


def crop_side(M: np.ndarray, size: int) -> float:
    """The side, in photo pixels, of the square that the size × size aligned crop of matrix M covers."""
    return size / float(np.sqrt(abs(np.linalg.det(M[:, :2]))))


def paste_back(rgb: np.ndarray, crop: np.ndarray, M: np.ndarray, feather: float = 0.1) -> np.ndarray:
    """Warp ``crop`` back with the inverse of M and blend it into ``rgb`` through a feathered mask."""
    h, w = rgb.shape[:2]
    inverse = cv2.invertAffineTransform(M)
    back = cv2.warpAffine(crop, inverse, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mask = cv2.warpAffine(feather_mask(crop.shape[0], feather), inverse, (w, h), flags=cv2.INTER_LINEAR)[..., None]
    return (rgb * (1 - mask) + back * mask).round().astype(np.uint8)
