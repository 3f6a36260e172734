"""The one cartoonising API: sizes and padding, strength, and whole-image + aligned-face compositing."""
import cv2
import numpy as np
import pytest
import torch
from skimage import data

from inference.cartoonise import Cartooniser, blend, fit_size, pad_to
from inference.faces import FaceCartooniser
from models.generator import Generator
from utils.faces.landmarks import FaceLandmarks


@pytest.fixture(scope="module")
def generator():
    torch.manual_seed(0)
    return Generator(8, 1).eval()


@pytest.fixture
def cartooniser(generator):
    """A fresh Cartooniser per test (a test that changes its strength cannot leak into the next), sharing G."""
    return Cartooniser(generator, "cpu", max_side=256)


@pytest.mark.parametrize("h, w, cap, want", [(100, 50, 720, (100, 50)), (1000, 500, 720, (720, 360)),
                                             (3, 2000, 720, (4, 720)), (720, 720, 720, (720, 720))])
def test_fit_size_shrinks_the_long_side_never_enlarges(h, w, cap, want):
    assert fit_size(h, w, cap) == want


@pytest.mark.parametrize("h, w", [(37, 53), (4, 4), (5, 2), (2, 7)])
def test_pad4_pads_bottom_right_to_multiples_of_4_keeping_the_image(h, w):
    x = torch.rand(1, 3, h, w)
    y = pad_to(x, 4)
    assert y.shape[-2] % 4 == 0 and y.shape[-1] % 4 == 0 and y.shape[-2] - h < 4 and y.shape[-1] - w < 4
    assert torch.equal(y[..., :h, :w], x)


def test_any_size_comes_back_at_its_own_size(cartooniser):
    images = [np.random.default_rng(i).integers(0, 256, s, dtype=np.uint8) for i, s in
              enumerate([(37, 53, 3), (300, 200, 3), (37, 53, 3)])]
    assert [c.shape for c in cartooniser(images)] == [im.shape for im in images]


def test_strength_0_is_the_photo_1_the_cartoon_and_between_a_linear_fade(generator):
    photo = cv2.resize(data.astronaut(), (128, 128), interpolation=cv2.INTER_AREA)
    at = {s: Cartooniser(generator, "cpu", max_side=256, strength=s) for s in (0.0, 0.25, 1.0)}
    full = at[1.0].cartoons([photo])[0]
    assert np.array_equal(at[0.0]([photo])[0], photo) and np.array_equal(at[1.0]([photo])[0], full)
    quarter = at[0.25]([photo])[0].astype(float)
    assert np.abs(quarter - (0.25 * full + 0.75 * photo)).max() <= 0.5
    assert np.abs(photo.astype(int) - full).mean() > 5  # the fixture's G does change the photo


def test_blend_rounds_and_stays_in_range():
    a, b = np.full((2, 2, 3), 255, np.uint8), np.zeros((2, 2, 3), np.uint8)
    assert blend(a, b, 0.5).dtype == np.uint8 and (blend(a, b, 0.5) == 128).all()  # 127.5 rounds to even: 128


def test_every_face_is_blended_onto_the_whole_image_cartoon(cartooniser):
    face = data.astronaut()[40:250, 110:330]
    photo = np.repeat(np.linspace(40, 200, 900).astype(np.uint8)[None, :, None], 3, 2).repeat(300, 0)
    for i in range(3):
        photo[45:255, 40 + i * 290:260 + i * 290] = face
    faces = FaceCartooniser(cartooniser, FaceLandmarks(), size=128)
    result = faces([photo])[0]
    whole = cartooniser.cartoons([photo])[0]
    found = faces.faces(photo)
    assert len(found) == 3 and faces.faces_per_image == [3]
    assert "3 face(s) cartoonised from aligned crops in 1 of 1 image(s)" in faces.report()
    assert np.array_equal(result[:8, :8], whole[:8, :8])  # far from any face: the whole-image cartoon
    assert np.abs(result[:8, :8].astype(int) - photo[:8, :8]).mean() > 5  # ... which is not the photo
    for crop, M in found:
        centre = cv2.invertAffineTransform(M) @ np.array([64, 64, 1.0])
        x, y = np.round(centre).astype(int)
        from_face = cartooniser.cartoons([crop])[0][62:67, 62:67].astype(int).mean((0, 1))
        assert np.abs(result[y, x].astype(int) - from_face).max() < 12  # the aligned pass, not the whole one
        assert np.abs(result[y - 2:y + 3, x - 2:x + 3].astype(int) - whole[y - 2:y + 3, x - 2:x + 3]).mean() > 1


def test_tiny_faces_are_left_to_the_whole_image_pass(cartooniser):
    photo = cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)
    faces = FaceCartooniser(cartooniser, FaceLandmarks(), size=128, min_face=400)
    assert np.array_equal(faces([photo])[0], cartooniser.cartoons([photo])[0])
    assert faces.faces_per_image == [0]
    assert faces.outcome() == "1 face found but too small for an aligned pass (under 400 px), left to the whole image"
    assert "no face found in 0; 1 face(s) too small" in faces.report()
    faces([np.full((64, 64, 3), 128, np.uint8)])
    assert faces.outcome() == "no face found: the whole image was cartoonised"
    assert "no face found in 1" in faces.report()


def test_fade_is_one_formula_for_arrays_and_tensors():
    """s·cartoon + (1 − s)·photo: the photo at 0, the cartoon at 1, the same numbers from numpy and torch."""
    import torch

    from inference.cartoonise import fade

    rng = np.random.default_rng(5)
    photo, cartoon = rng.uniform(-1, 1, (2, 3, 4, 4)).astype(np.float32)
    assert np.array_equal(fade(photo, cartoon, 0.0), photo) and np.array_equal(fade(photo, cartoon, 1.0), cartoon)
    got = fade(torch.from_numpy(photo), torch.from_numpy(cartoon), torch.tensor([0.3])).numpy()
    np.testing.assert_allclose(got, 0.3 * cartoon + 0.7 * photo, rtol=1e-6)
    np.testing.assert_allclose(fade(photo, cartoon, 0.3), got, rtol=1e-6)
