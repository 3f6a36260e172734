"""The landmark reader's second opinion: near dlib on a real face (its floor), 0 on the photos themselves, and
more on a face whose geometry changed."""
import cv2
import numpy as np
import pytest
from skimage import data

from studies.reader_check import ReaderCheck


@pytest.fixture(scope="module")
def faces():
    face = cv2.resize(data.astronaut()[30:230, 125:325], (256, 256), interpolation=cv2.INTER_AREA)
    return [face, np.full((256, 256, 3), 128, np.uint8)]  # a face and a photo without one


def test_the_floor_is_the_readers_distance_to_dlib_on_the_faces_it_reads(faces):
    check = ReaderCheck(faces)
    floor = check.floor()
    assert floor["faces"] == 1 and 0.01 < floor["mean"] < 0.045 and floor["median"] == pytest.approx(floor["mean"])


def test_reader_nme_is_zero_on_the_photos_and_grows_with_a_warp(faces):
    check = ReaderCheck(faces)
    wide = cv2.resize(faces[0], (300, 256))[:, 22:278]  # the face 17 % wider
    assert check.nme(faces) == 0
    assert check.nme([wide, faces[1]]) > 0.03
