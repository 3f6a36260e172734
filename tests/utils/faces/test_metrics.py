import cv2
import numpy as np
import pytest
from skimage import data

from utils.faces.metrics import FaceMetrics


@pytest.fixture(scope="module")
def metrics():
    return FaceMetrics()


def test_identical_pair_is_perfect(metrics):
    face = data.astronaut()
    m = metrics([face], [face])
    assert m["landmark_nme"] == 0 and m["identity_distance"] == 0
    assert m["cartoon_face_detected"] == 1 and m["identity_kept"] == 1


def test_a_different_image_scores_worse(metrics):
    face = data.astronaut()
    shifted = np.roll(face, 12, axis=1)
    blurred = cv2.GaussianBlur(face, (0, 0), 6)
    near, far = metrics([face], [blurred]), metrics([face], [shifted])
    assert far["landmark_nme"] > near["landmark_nme"] > 0
    # outer-eye distance ≈ 60 px: a 12 px shift of every point is an NME near 0.2
    assert far["landmark_nme"] == pytest.approx(12 / 60, abs=0.08)


def test_photos_without_face_are_counted_not_fatal(metrics):
    flat = np.full((128, 128, 3), 100, np.uint8)
    m = metrics([flat], [flat])
    assert m == {"pairs": 1, "faces": 0, "photos_without_face": 1}
