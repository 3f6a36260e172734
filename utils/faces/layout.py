"""The iBUG 68-point face layout that dlib's predictor follows, without dlib: the index ranges of each facial
part, the index each point takes in a mirrored face, and the outer eye corners that normalise distances.

Imported by the landmark loss and the data loader, which must not load dlib (3.5 s) when ``--w5 0``.
"""
import numpy as np

PARTS = {"jaw": range(0, 17), "brows": range(17, 27), "nose": range(27, 36), "eyes": range(36, 48),
         "mouth": range(48, 68)}
FLIP_68 = np.array([*range(16, -1, -1), *range(26, 16, -1), 27, 28, 29, 30, *range(35, 30, -1),
                    45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40,
                    54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55, 64, 63, 62, 61, 60, 67, 66, 65])
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 36, 45  # the subject's right and left outer eye corners


def flip_points(points: np.ndarray, width: int) -> np.ndarray:
    """Mirror (…, 68, 2) landmarks horizontally: x -> width − 1 − x, and left/right points swap indices."""
    out = points[..., FLIP_68, :].copy()
    out[..., 0] = width - 1 - out[..., 0]
    return out
