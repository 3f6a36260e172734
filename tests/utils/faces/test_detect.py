"""Which detections are faces: dlib's sure HOG boxes, and the weak ones its CNN detector confirms."""
import cv2
import dlib
import numpy as np
import pytest
from skimage import data

from datasets.make_demo import SHOWCASE_FACES
from utils.faces.detect import SURE, overlap
from utils.faces.landmarks import FaceLandmarks
from utils.image_io import skimage_photo


@pytest.fixture(scope="module")
def landmarks():
    return FaceLandmarks()


def test_exactly_one_face_on_the_astronaut_not_her_suit(landmarks):
    image = data.astronaut()
    raw = landmarks.faces(image)
    assert len(raw) == 2 and raw[1][0] < SURE  # the weak box on the suit (dlib scores it 0.12) ...
    accepted = landmarks.accepted_faces(image)
    assert len(accepted) == 1  # ... is refused by the second opinion
    box = accepted[0][1]
    assert overlap(box, dlib.rectangle(175, 76, 265, 166)) > 0.6  # the real face (FACTS.md)


def test_a_weak_detection_of_a_real_face_is_confirmed(landmarks):
    blurred = cv2.GaussianBlur(data.astronaut()[20:280, 90:350], (0, 0), 3)
    raw = landmarks.faces(blurred)
    assert len(raw) == 1 and raw[0][0] < SURE  # the old rule (score ≥ 0.5) would say: no face
    assert len(landmarks.accepted_faces(blurred)) == 1


def test_two_faces_are_two(landmarks):
    face = data.astronaut()[20:280, 90:350]
    photo = np.full((300, 600, 3), 128, np.uint8)
    photo[20:280, 10:270], photo[20:280, 320:580] = face, face[:, ::-1]
    assert len(landmarks.accepted_faces(photo)) == 2


def test_no_false_face_on_the_showcase_scenes(landmarks):
    for name, faces in SHOWCASE_FACES.items():
        assert len(landmarks.accepted_faces(skimage_photo(name))) == faces, name


def test_overlap_is_intersection_over_union():
    a, b = dlib.rectangle(0, 0, 9, 9), dlib.rectangle(5, 0, 14, 9)  # dlib boxes include both ends: 10×10 each
    assert overlap(a, b) == pytest.approx(50 / 150)
    assert overlap(a, dlib.rectangle(20, 20, 30, 30)) == 0
    assert overlap(a, a) == 1
