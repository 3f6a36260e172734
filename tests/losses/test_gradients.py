"""losses/gradients.py: the Sobel magnitude against OpenCV's, the pixel differences against slicing by hand."""
import cv2
import numpy as np
import torch

from losses.gradients import edge_magnitude, gradient_strength, pixel_differences


def test_edge_magnitude_matches_opencv_sobel():
    rgb = np.random.default_rng(0).random((12, 10, 3))
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    gx = cv2.Sobel(luma, cv2.CV_64F, 1, 0, ksize=3, borderType=cv2.BORDER_REPLICATE) / 8
    gy = cv2.Sobel(luma, cv2.CV_64F, 0, 1, ksize=3, borderType=cv2.BORDER_REPLICATE) / 8
    got = edge_magnitude(torch.from_numpy(rgb).permute(2, 0, 1)[None])[0, 0].numpy()
    np.testing.assert_allclose(got, np.sqrt(gx**2 + gy**2 + 1e-12), atol=1e-9)


def test_pixel_differences_shapes_and_values():
    x = torch.arange(12.0).view(1, 1, 3, 4)
    dx, dy = pixel_differences(x)
    assert dx.shape == (1, 1, 3, 3) and (dx == 1).all() and dy.shape == (1, 1, 2, 4) and (dy == 4).all()


def test_gradient_strength_is_the_sum_of_both_absolute_differences_in_float32():
    x = torch.from_numpy(np.random.default_rng(1).random((1, 2, 5, 6))).bfloat16()
    ref = x.float().numpy()
    want = np.abs(np.diff(ref, axis=3))[..., :-1, :] + np.abs(np.diff(ref, axis=2))[..., :, :-1]
    got = gradient_strength(x)
    assert got.dtype == torch.float32 and got.shape == (1, 2, 4, 5)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)
