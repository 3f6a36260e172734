"""The landmark cache of a training folder: computed once, reused, refreshed; points that follow the loader's crop
and flip."""
import os

import cv2
import numpy as np
import pytest

from datasets.folder import ImageFolder
from utils.faces.landmark_cache import LandmarkCache
from utils.faces.layout import flip_points


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
