"""The distillation loss against numpy: L1 of the outputs plus λ times L1 of their neighbouring-pixel differences
plus μ times the flatness term (tests/losses/test_flatness.py)."""
import numpy as np
import pytest
import torch

from losses.distill import distill_loss


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


def test_bf16_outputs_are_compared_in_float32():
    s, t = torch.rand(1, 3, 4, 4).bfloat16(), torch.rand(1, 3, 4, 4).bfloat16()
    assert distill_loss(s, t)["total"].dtype == torch.float32

