import numpy as np
import pytest
import torch

from losses.content import content_loss, vgg_l1
from losses.structure import structure_loss


def test_vgg_l1_is_mean_abs_over_chw():
    a, b = np.random.default_rng(0).normal(size=(2, 2, 4, 3, 5))
    ref = np.mean(np.abs(a - b)) / (4 * 3 * 5)
    assert vgg_l1(torch.from_numpy(a), torch.from_numpy(b)).item() == pytest.approx(ref)



def test_content_and_structure_compare_the_features_they_are_given():
    """content: VGG(photo) vs VGG(output); structure: VGG(superpixel(output)) vs VGG(output); both WB's
    mean |a − b| / (C·H·W), zero for equal features, symmetric, and linear in a uniform offset."""
    rng = np.random.default_rng(1)
    photo, output = (torch.from_numpy(rng.normal(size=(1, 8, 2, 2))) for _ in range(2))
    assert content_loss(photo, photo) == 0 and structure_loss(output, output) == 0
    assert content_loss(photo, output) == pytest.approx(structure_loss(output, photo).item())
    assert content_loss(photo, photo + 3.0).item() == pytest.approx(3.0 / (8 * 2 * 2))
