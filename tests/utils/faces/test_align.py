import cv2
import numpy as np
import pytest
from skimage import data

import utils.faces.prepare as prepare_faces
from utils.faces.align import align_face, feather_mask, paste_back
from utils.faces.landmarks import FaceLandmarks


@pytest.fixture(scope="module")
def astronaut_points():
    image = data.astronaut()
    return image, FaceLandmarks()(image)


def test_aligned_crop_has_level_eyes_and_centred_face(astronaut_points):
    image, points = astronaut_points
    crop, M = align_face(image, points, 256)
    moved = points @ M[:, :2].T + M[:, 2]
    right_eye, left_eye = moved[36:42].mean(0), moved[42:48].mean(0)
    assert abs(right_eye[1] - left_eye[1]) < 1.0
    assert 0.3 * 256 < moved[:, 0].mean() < 0.7 * 256 and right_eye[1] < moved[48:68, 1].mean()


def test_paste_back_round_trips_the_face_region(astronaut_points):
    image, points = astronaut_points
    crop, M = align_face(image, points, 256)
    back = paste_back(image, crop, M)
    face = (slice(95, 160), slice(190, 250))
    assert np.abs(back[face].astype(int) - image[face]).mean() < 4.0
    far = (slice(400, 512), slice(0, 100))
    assert np.array_equal(back[far], image[far])  # outside the crop nothing changes


def test_paste_back_puts_the_cartoon_in(astronaut_points):
    image, points = astronaut_points
    _, M = align_face(image, points, 128)
    red = np.zeros((128, 128, 3), np.uint8)
    red[..., 0] = 255
    out = paste_back(image, red, M)
    centre = (points[27:36].mean(0)).astype(int)  # the nose, well inside the crop
    assert tuple(out[centre[1], centre[0]]) == (255, 0, 0)


def test_feather_mask_is_one_inside_zero_at_the_rim():
    m = feather_mask(100, 0.1)
    assert m[50, 50] == 1 and m[0, 50] < 0.1 and m[50, 99] < 0.1


def test_prepare_faces_counts_images_without_face(tmp_path, capsys):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    cv2.imwrite(str(src / "sub" / "astro.jpg"), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(src / "flat.png"), np.full((64, 64, 3), 128, np.uint8))
    (src / "broken.png").write_text("x")
    prepare_faces.main([str(src), str(tmp_path / "dst"), "--size", "128", "--workers", "1"])
    out = cv2.imread(str(tmp_path / "dst" / "sub" / "astro.png"))
    assert out.shape == (128, 128, 3)
    listed = (tmp_path / "dst" / "no_face.txt").read_text()
    assert "flat.png: no face found" in listed and "broken.png: not a decodable image" in listed
    assert "1 aligned faces" in capsys.readouterr().out


def test_prepare_faces_missing_folder(tmp_path, capsys):
    with pytest.raises(SystemExit):
        prepare_faces.main([str(tmp_path / "none"), str(tmp_path / "dst")])
    assert "none: folder not found" in capsys.readouterr().err
