import cv2
import numpy as np
import pytest
from skimage import data

from utils.inference.stylization import flat_share, gradient_magnitude, photo_distance, stylization


def test_gradient_magnitude_is_the_unnormalised_sobel_of_the_luma():
    """A horizontal ramp of slope 2 levels/pixel: Sobel x = (1+2+1)·(2·2) = 16 inside, y = 0."""
    ramp = np.repeat(np.repeat((np.arange(16) * 2).astype(np.uint8)[None, :, None], 16, 0), 3, 2)
    np.testing.assert_allclose(gradient_magnitude(ramp)[4:-4, 4:-4], 16.0, atol=1e-4)


def test_flat_share_separates_a_flat_picture_from_a_photo():
    photo = data.astronaut()
    flat = cv2.resize(cv2.resize(photo, (8, 8), interpolation=cv2.INTER_AREA), (512, 512),
                      interpolation=cv2.INTER_NEAREST)
    assert flat_share(flat) > 0.9 > flat_share(photo)
    assert flat_share(np.zeros((9, 9, 3), np.uint8)) == 1.0


def test_photo_distance_and_the_summary():
    a, b = np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 10, np.uint8)
    assert photo_distance(a, a) == 0 and photo_distance(a, b) == pytest.approx(10)
    out = stylization([a, a], [a, b], reference=[b])
    assert out["photo_distance"] == pytest.approx(5) and out["flat_share"] == 1.0
    assert out["flat_share_reference_cartoons"] == 1.0


def test_the_flat_threshold_is_8_levels_of_sobel_gradient():
    """Ramps of known slope: v = (x + y)//2 has Sobel gradients Sx = Sy = 4 (the 3×3 kernels weigh the row
    difference v[x+1] − v[x−1] = 1 by 1 + 2 + 1), |∇| = 4√2 ≈ 5.7 < 8: flat. v = x + y: |∇| = 8√2 ≈ 11.3,
    between 8 and 16: not flat, but for the corners (reflected borders give 0 along both axes there)."""

    y, x = np.mgrid[:64, :64]
    gentle = np.repeat(((x + y) // 2).astype(np.uint8)[..., None], 3, 2)
    steep = np.repeat((x + y).astype(np.uint8)[..., None], 3, 2)
    assert flat_share(gentle) == 1.0
    assert flat_share(steep) == pytest.approx(4 / 64**2)
