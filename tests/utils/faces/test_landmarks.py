import numpy as np
import pytest

from utils.errors import UserError
from utils.faces.landmarks import FaceLandmarks
from utils.faces.layout import FLIP_68


def test_best_face_is_the_real_one_not_the_suit(landmarks, astronaut):
    found = landmarks.faces(astronaut)
    assert len(found) >= 1
    box = found[0][1]
    assert (box.left(), box.top()) == pytest.approx((175, 76), abs=10)
    points = landmarks(astronaut)
    assert points.shape == (68, 2)
    margin = 0.15 * box.width()  # dlib boxes are tight: the chin sits a little below
    assert (points[:, 0] >= box.left() - margin).all() and (points[:, 0] <= box.right() + margin).all()
    assert (points[:, 1] >= box.top() - margin).all() and (points[:, 1] <= box.bottom() + margin).all()
    eyes_y, mouth_y = points[36:48, 1].mean(), points[48:68, 1].mean()
    assert eyes_y < mouth_y
    assert points[36] == pytest.approx((195, 101), abs=4) and points[45] == pytest.approx((255, 105), abs=4)


def test_no_face_gives_none(landmarks):
    assert landmarks(np.full((200, 200, 3), 127, np.uint8)) is None


def test_flip_permutation_is_an_involution_swapping_sides():
    assert (FLIP_68[FLIP_68] == np.arange(68)).all()
    assert FLIP_68[36] == 45 and FLIP_68[0] == 16 and FLIP_68[48] == 54 and FLIP_68[30] == 30


def test_missing_predictor_is_one_line_error(tmp_path):
    with pytest.raises(UserError, match="nope.dat: dlib model file not found"):
        FaceLandmarks(str(tmp_path / "nope.dat"))
    (tmp_path / "bad.dat").write_text("x")
    with pytest.raises(UserError, match="bad.dat: not a dlib shape predictor"):
        FaceLandmarks(str(tmp_path / "bad.dat"))
