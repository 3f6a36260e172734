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
    face = data.astronaut()
    m = metrics([flat, face, flat], [flat, face, flat])  # the face's measures are its own, not diluted
    assert (m["pairs"], m["faces"], m["photos_without_face"]) == (3, 1, 2)
    assert m["landmark_nme"] == 0 and m["identity_kept"] == 1


def test_nme_of_a_face_scaled_about_its_centre_is_known_in_closed_form(metrics):
    """Cartoon = photo scaled by k about the landmarks' centroid c: its points are c + k(p − c), so
    NME = mean‖p − (c + k(p − c))‖ / ‖p36 − p45‖ = |k − 1| · mean‖p − c‖ / ‖p36 − p45‖ with the PHOTO's
    eye distance (normalised by the cartoon's it would be k times smaller)."""
    from utils.faces.landmarks import FaceLandmarks
    from utils.faces.layout import LEFT_EYE_OUTER, RIGHT_EYE_OUTER

    face = data.astronaut()
    p = FaceLandmarks()(face)
    c = p.mean(0)
    k = 1.2
    scaled = cv2.warpAffine(face, cv2.getRotationMatrix2D((float(c[0]), float(c[1])), 0, k), face.shape[1::-1],
                            flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    expected = (k - 1) * np.linalg.norm(p - c, axis=1).mean() / np.linalg.norm(p[RIGHT_EYE_OUTER] - p[LEFT_EYE_OUTER])
    got = metrics([face], [scaled])["landmark_nme"]
    assert got == pytest.approx(expected, rel=0.05)  # measured here: 0.1072 vs 0.1066
    assert abs(got - expected / k) > 0.1 * expected  # the cartoon's eye distance would give 0.089


def test_identity_is_read_from_the_cartoons_pixels(metrics):
    """A heavy blur loses who it is; a 2-pixel shift does not (dlib: 0.76 against 0.04)."""
    face = data.astronaut()
    blurred = metrics([face], [cv2.GaussianBlur(face, (0, 0), 10)])["identity_distance"]
    shifted = metrics([face], [np.roll(face, 2, axis=1)])["identity_distance"]
    assert blurred > 0.4 > 0.15 > shifted


def test_model_files_given_by_path_are_used_and_a_bad_one_is_one_line(tmp_path):
    """Both dlib files can be passed as paths; a missing one, or a file that is not a recognition model, is a
    one-line UserError naming the file (the first line of dlib's reason, cut to 150 characters), not dlib's
    traceback."""
    from utils.errors import UserError
    from utils.faces.dlib_models import FACE_RECOGNITION, PREDICTOR_68, model_file

    FaceMetrics(str(model_file(PREDICTOR_68)), str(model_file(FACE_RECOGNITION)))
    for predictor, recognition in ((tmp_path / "nope.dat", None), (None, tmp_path / "nope.dat")):
        with pytest.raises(UserError, match="nope.dat: dlib model file not found"):
            FaceMetrics(predictor and str(predictor), recognition and str(recognition))
    bad = tmp_path / ("bad" + "x" * 80 + ".dat")  # dlib's reason names the file: longer than the cut
    bad.write_bytes(b"not a model" * 100)
    with pytest.raises(UserError) as e:
        FaceMetrics(recognition=str(bad))
    message = str(e.value)
    assert message.startswith(f"{bad}: not a dlib face recognition model (An error occurred") and "\n" not in message
    assert len(message) == len(f"{bad}: not a dlib face recognition model ()") + 150
