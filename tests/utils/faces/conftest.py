"""Shared by the face tests: one dlib FaceLandmarks and scikit-image's astronaut (a real face photo)."""
import pytest
from skimage import data

from utils.faces.landmarks import FaceLandmarks


@pytest.fixture(scope="module")
def landmarks():
    return FaceLandmarks()


@pytest.fixture(scope="module")
def astronaut():
    return data.astronaut()
