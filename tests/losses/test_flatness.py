"""The flatness term against OpenCV's Sobel on 0–255 values, as the flat share measures it."""
import cv2
import numpy as np
import pytest
import torch

from losses.distill import distill_loss
from losses.flatness import flatness_residue


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


def test_the_reference_carries_no_gradient():
    image, reference = torch.rand(1, 3, 8, 8, requires_grad=True), torch.zeros(1, 3, 8, 8, requires_grad=True)
    flatness_residue(image, reference).backward()
    assert reference.grad is None and image.grad is not None
