import numpy as np
import pytest
import torch

from losses.content import content_loss, vgg_l1
from losses.structure import structure_loss


def test_vgg_l1_is_mean_abs_over_chw():
    a, b = np.random.default_rng(0).normal(size=(2, 2, 4, 3, 5))
    ref = np.mean(np.abs(a - b)) / (4 * 3 * 5)
    assert vgg_l1(torch.from_numpy(a), torch.from_numpy(b)).item() == pytest.approx(ref)
    assert content_loss(torch.from_numpy(a), torch.from_numpy(b)) == structure_loss(torch.from_numpy(a),
                                                                                   torch.from_numpy(b))
