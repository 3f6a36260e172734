import os

import cv2
import numpy as np
import pytest
from skimage import data

from datasets.folder import ImageFolder
from utils.errors import UserError
from utils.faces.landmarks import FaceLandmarks, LandmarkCache
from utils.faces.layout import FLIP_68, flip_points


@pytest.fixture(scope="module")
def landmarks():
    return FaceLandmarks()


@pytest.fixture(scope="module")
def astronaut():
    return data.astronaut()


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


@pytest.fixture
def face_folder(tmp_path, astronaut):
    d = tmp_path / "faces"
    d.mkdir()
    cv2.imwrite(str(d / "a.png"), cv2.cvtColor(astronaut[20:300, 80:400], cv2.COLOR_RGB2BGR))  # 280×320, not square
    cv2.imwrite(str(d / "noise.png"), np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    return d


def test_cache_computes_once_reuses_and_refreshes(face_folder, tmp_path):
    cache_file = tmp_path / "cache.npz"
    first = LandmarkCache(face_folder, cache_file)
    assert first.computed == 2 and first.missing == 1  # the noise image has no face: counted, not fatal
    assert first.get("noise.png") is None and first.get("a.png").shape == (68, 2)
    second = LandmarkCache(face_folder, cache_file)
    assert second.computed == 0
    assert np.array_equal(second.get("a.png"), first.get("a.png"))
    image = cv2.imread(str(face_folder / "a.png"))
    cv2.imwrite(str(face_folder / "a.png"), image[:, ::-1])
    os.utime(face_folder / "a.png", (1, 1))  # a different mtime even on coarse clocks
    third = LandmarkCache(face_folder, cache_file)
    assert third.computed == 1
    assert not np.allclose(third.get("a.png"), first.get("a.png"))


@pytest.mark.parametrize("flip", [False, True])
def test_points_follow_resize_crop_and_flip(face_folder, tmp_path, landmarks, flip):
    cache = LandmarkCache(face_folder, tmp_path / "c.npz")
    ds = ImageFolder(face_folder, 160, landmarks=cache)
    item = ds[(0, flip)]
    image = ((item["image"].permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)
    redetected = landmarks(image)  # landmarks found on the transformed pixels themselves
    assert redetected is not None
    err = np.linalg.norm(item["points"].numpy() - redetected, axis=1)
    assert np.median(err) < 2.0
    assert item["points"][36, 0] < item["points"][45, 0]  # point 36 is on the image's left, mirrored or not
    if flip:  # the mirror of the old point 45 becomes point 36
        unflipped = ds[(0, False)]["points"].numpy()
        assert item["points"][36, 0] == pytest.approx(159 - unflipped[45, 0], abs=1e-4)
        assert np.allclose(item["points"].numpy(), flip_points(unflipped, 160), atol=1e-4)
    assert np.isnan(ds[(1, flip)]["points"].numpy()).all()
