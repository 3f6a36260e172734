"""The distillation loss against numpy: L1 of the outputs plus λ times L1 of their neighbouring-pixel differences;
the flatness term against OpenCV's Sobel on 0–255 values, as the flat share measures it."""
import cv2
import numpy as np
import pytest
import torch

from losses.distill import distill_loss, flatness_residue, pixel_differences


def test_matches_numpy_on_random_images():
    rng = np.random.default_rng(0)
    s, t = rng.uniform(-1, 1, (2, 3, 5, 7)), rng.uniform(-1, 1, (2, 3, 5, 7))
    l1 = np.abs(s - t).mean()
    dx = np.abs(np.diff(s, axis=3) - np.diff(t, axis=3)).mean()
    dy = np.abs(np.diff(s, axis=2) - np.diff(t, axis=2)).mean()
    got = distill_loss(torch.from_numpy(s), torch.from_numpy(t), edges=0.5)
    assert got["l1"].item() == pytest.approx(l1, rel=1e-6)
    assert got["edges"].item() == pytest.approx(dx + dy, rel=1e-6)
    assert got["total"].item() == pytest.approx(l1 + 0.5 * (dx + dy), rel=1e-6)


def test_a_shift_of_brightness_costs_l1_only_and_a_lost_line_costs_both():
    t = torch.zeros(1, 3, 8, 8)
    t[..., 4, :] = -1  # a dark line
    brighter = distill_loss(t + 0.2, t)
    assert brighter["l1"].item() == pytest.approx(0.2) and brighter["edges"].item() == pytest.approx(0, abs=1e-7)
    no_line = distill_loss(torch.zeros_like(t), t)
    assert no_line["edges"].item() > 0 and no_line["l1"].item() == pytest.approx(1 / 8)


def test_pixel_differences_shapes_and_values():
    x = torch.arange(12.0).view(1, 1, 3, 4)
    dx, dy = pixel_differences(x)
    assert dx.shape == (1, 1, 3, 3) and (dx == 1).all() and dy.shape == (1, 1, 2, 4) and (dy == 4).all()


def test_bf16_outputs_are_compared_in_float32():
    s, t = torch.rand(1, 3, 4, 4).bfloat16(), torch.rand(1, 3, 4, 4).bfloat16()
    assert distill_loss(s, t)["total"].dtype == torch.float32


def sobel_255(x: np.ndarray) -> np.ndarray:
    """OpenCV's unnormalised 3×3 Sobel magnitude of the luma of a (3, H, W) image in [-1, 1], on 0–255 values."""
    luma = ((np.tensordot([0.299, 0.587, 0.114], x, 1) + 1) * 127.5).astype(np.float64)
    gx = cv2.Sobel(luma, cv2.CV_64F, 1, 0, ksize=3, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.Sobel(luma, cv2.CV_64F, 0, 1, ksize=3, borderType=cv2.BORDER_REPLICATE)
    return np.hypot(gx, gy)


def test_flatness_residue_matches_opencv_sobel_on_the_teachers_flat_pixels():
    rng = np.random.default_rng(1)
    ramp = np.linspace(-0.5, 0.5, 16)  # 8 levels per pixel: not flat
    t = np.broadcast_to(np.where(np.arange(16) < 8, 0.1, ramp), (2, 3, 16, 16)).copy()
    s = t + rng.normal(0, 0.02, t.shape)
    mask = np.stack([sobel_255(x) < 8 for x in t])
    excess = np.maximum(np.stack([sobel_255(x) for x in s]) - 4, 0) / (8 * 127.5)  # τ/2 = 4 of 255-Sobel
    want = (mask * excess).sum() / mask.sum()
    got = flatness_residue(torch.from_numpy(s), torch.from_numpy(t)).item()
    assert 0 < mask.mean() < 1 and got == pytest.approx(want, rel=1e-5)


def test_flatness_residue_sees_a_one_level_ramp_where_the_teacher_is_flat_and_not_where_it_draws():
    flat = torch.zeros(1, 3, 16, 16)
    ramp = (torch.arange(16.0) * 2 / 255).expand(1, 3, 16, 16)  # two grey levels per pixel
    assert flatness_residue(flat, flat).item() == 0
    assert flatness_residue(ramp, flat).item() > 0
    assert flatness_residue(ramp, ramp * 8).item() == 0  # the teacher draws there: not its flat area
    got = distill_loss(ramp, flat, edges=0, flat=3.0)
    assert got["total"].item() == pytest.approx(got["l1"].item() + 3 * got["flat"].item(), rel=1e-6)
