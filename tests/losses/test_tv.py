import numpy as np
import pytest
import torch

from losses.tv import total_variation


def test_matches_numpy_reference():
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 9, 11))
    h, w = 9, 11
    ref = (np.mean((x[:, :, 1:] - x[:, :, :-1]) ** 2) + np.mean((x[..., 1:] - x[..., :-1]) ** 2)) / (3 * h * w)
    assert total_variation(torch.from_numpy(x)).item() == pytest.approx(ref, rel=1e-12)


def test_constant_image_has_no_variation():
    assert total_variation(torch.full((1, 3, 8, 8), 0.3)) == 0


def test_gradcheck():
    x = torch.rand(1, 3, 5, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(total_variation, (x,))
