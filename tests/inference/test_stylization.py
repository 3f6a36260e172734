import cv2
import numpy as np
import pytest
from skimage import data

from inference.stylization import (
    flat_share,
    gradient_magnitude,
    high_frequency_ratio,
    photo_distance,
    stylization,
)


def test_gradient_magnitude_is_the_unnormalised_sobel_of_the_luma():
    """A horizontal ramp of slope 2 levels/pixel: Sobel x = (1+2+1)·(2·2) = 16 inside, y = 0."""
    ramp = np.repeat(np.repeat((np.arange(16) * 2).astype(np.uint8)[None, :, None], 16, 0), 3, 2)
    np.testing.assert_allclose(gradient_magnitude(ramp)[4:-4, 4:-4], 16.0, atol=1e-4)
    # negative derivatives (a uint8 Sobel would clip them to 0), and a step 0 → 255 whose Sobel, 4·255, passes 255
    for falling in (ramp[:, ::-1], ramp.transpose(1, 0, 2)[::-1]):
        np.testing.assert_allclose(gradient_magnitude(np.ascontiguousarray(falling))[4:-4, 4:-4], 16.0, atol=1e-4)
    step = np.zeros((16, 16, 3), np.uint8)
    step[:, 8:] = 255
    assert gradient_magnitude(step).max() == pytest.approx(4 * 255, abs=0.5)


def test_flat_share_separates_a_flat_picture_from_a_photo():
    photo = data.astronaut()
    flat = cv2.resize(cv2.resize(photo, (8, 8), interpolation=cv2.INTER_AREA), (512, 512),
                      interpolation=cv2.INTER_NEAREST)
    assert flat_share(flat) > 0.9 > flat_share(photo)
    assert flat_share(np.zeros((9, 9, 3), np.uint8)) == 1.0


def test_photo_distance_and_the_summary():
    a, b = np.full((4, 4, 3), 30, np.uint8), np.full((4, 4, 3), 40, np.uint8)
    assert photo_distance(a, a) == 0 and photo_distance(a, b) == photo_distance(b, a) == pytest.approx(10)
    out = stylization([a, a], [a, b], reference=[b])
    assert out == pytest.approx({"flat_share": 1.0, "flat_share_photos": 1.0, "line_share": 0.0,
                                 "photo_distance": 5.0, "high_frequency_ratio": 0.0,
                                 "flat_share_reference_cartoons": 1.0})


def test_the_flat_threshold_is_8_levels_of_sobel_gradient():
    """Ramps of known slope: v = (x + y)//2 has Sobel gradients Sx = Sy = 4 (the 3×3 kernels weigh the row
    difference v[x+1] − v[x−1] = 1 by 1 + 2 + 1), |∇| = 4√2 ≈ 5.7 < 8: flat. v = x + y: |∇| = 8√2 ≈ 11.3,
    between 8 and 16: not flat, but for the corners (reflected borders give 0 along both axes there)."""

    y, x = np.mgrid[:64, :64]
    gentle = np.repeat(((x + y) // 2).astype(np.uint8)[..., None], 3, 2)
    steep = np.repeat((x + y).astype(np.uint8)[..., None], 3, 2)
    assert flat_share(gentle) == 1.0
    assert flat_share(steep) == pytest.approx(4 / 64**2)


def laplacian_energy(gray: np.ndarray) -> float:
    """var of the 4-neighbour Laplacian (OpenCV's ksize 1 aperture), mirrored borders without repeating the edge
    (OpenCV's BORDER_REFLECT_101 is numpy's 'reflect')."""
    v = np.pad(gray.astype(np.float64), 1, mode="reflect")
    lap = v[:-2, 1:-1] + v[2:, 1:-1] + v[1:-1, :-2] + v[1:-1, 2:] - 4 * v[1:-1, 1:-1]
    return float(lap.var())


def test_high_frequency_ratio_is_the_laplacian_energy_ratio_of_the_luma():
    """var(Laplacian(cartoon)) / var(Laplacian(photo)) on grey pictures (luma = the value), against numpy; a photo
    as gentle as one raised pixel (energy ≈ 0.02) is divided by its own energy, not by a floor near 1."""
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (32, 40)).astype(np.uint8)
    smooth = cv2.GaussianBlur(grey, (5, 5), 1.5)
    rgb = lambda g: np.repeat(g[..., None], 3, 2)  # noqa: E731
    want = laplacian_energy(smooth) / laplacian_energy(grey)
    assert high_frequency_ratio(rgb(grey), rgb(smooth)) == pytest.approx(want, rel=1e-4) and want < 0.5
    gentle = np.full((32, 32), 100, np.uint8)
    gentle[20, 20] = 101
    assert laplacian_energy(gentle) < 0.05
    want = laplacian_energy(smooth[:, :32]) / laplacian_energy(gentle)
    assert high_frequency_ratio(rgb(gentle), rgb(smooth[:, :32])) == pytest.approx(want, rel=1e-4)


def test_high_frequency_ratio_weighs_the_channels_as_the_luma_does():
    """Texture in red counts 0.299², in blue 0.114² (luma = 0.299 R + 0.587 G + 0.114 B): the same texture moved
    from the photo's red channel to the cartoon's blue one gives (0.114 / 0.299)² ≈ 0.145."""
    texture = np.random.default_rng(1).integers(0, 256, (32, 32)).astype(np.uint8)
    red, blue = np.full((32, 32, 3), 128, np.uint8), np.full((32, 32, 3), 128, np.uint8)
    red[..., 0], blue[..., 2] = texture, texture
    luma = lambda rgb: np.round(rgb.astype(np.float64) @ [0.299, 0.587, 0.114])  # noqa: E731
    want = laplacian_energy(luma(blue)) / laplacian_energy(luma(red))
    assert want == pytest.approx((0.114 / 0.299) ** 2, rel=2e-2)
    assert high_frequency_ratio(red, blue) == pytest.approx(want, rel=1e-3)


def test_line_share_counts_pixels_darker_than_their_7x7_mean_by_more_than_25():
    """Against a direct numpy computation: the mean of each 7×7 window (reflected borders, as OpenCV's
    BORDER_REFLECT_101), then the share of pixels more than 25 levels below it."""
    from inference.stylization import line_share

    rgb = np.full((20, 30, 3), 200, np.uint8)
    rgb[10, 3:27] = 20  # a one-pixel ink line: 180 below a mean of about 174 -> dark by about 154
    rgb[3:6, 3:6] = 170  # a soft patch: darker, but by less than 25 -> not a line
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)
    padded = np.pad(gray, 3, mode="reflect")
    mean = np.mean([padded[dy:dy + 20, dx:dx + 30] for dy in range(7) for dx in range(7)], axis=0)
    want = ((mean - gray) > 25).mean()
    assert line_share(rgb) == pytest.approx(want, abs=1e-9) and want == pytest.approx(24 / 600)
    ink = 255 - cv2.Canny(data.astronaut(), 50, 150)  # the photo's edges drawn black on white
    assert line_share(np.repeat(ink[..., None], 3, 2)) > 2 * line_share(data.astronaut())
