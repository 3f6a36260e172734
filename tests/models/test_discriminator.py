import pytest
import torch
from torch import nn

from models.discriminator import PatchDiscriminator


@pytest.mark.parametrize("channels", [1, 3])
def test_patch_output_shape(channels):
    D = PatchDiscriminator(channels)
    assert D(torch.randn(2, channels, 64, 96)).shape == (2, 1, 8, 12)


def test_raw_logits_not_squashed():
    D = PatchDiscriminator(3)
    with torch.no_grad():
        D.net[-1].bias.fill_(3.0)  # zero input and zero biases elsewhere: every logit is this bias
        assert torch.allclose(D(torch.zeros(1, 3, 32, 32)), torch.tensor(3.0))  # a sigmoid would give 0.95


def test_spectral_norm_is_one_after_power_iterations():
    D = PatchDiscriminator(3)
    for _ in range(30):  # each training-mode forward runs one power iteration per layer
        D(torch.randn(1, 3, 32, 32))
    D.eval()
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 7
    for conv in convs:
        sigma = torch.linalg.matrix_norm(conv.weight.detach().reshape(conv.weight.shape[0], -1), ord=2).item()
        assert sigma == pytest.approx(1.0, abs=2e-2)


def test_layer_widths_follow_disc_sn():
    convs = [m for m in PatchDiscriminator(1).modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 32, 64, 64, 128, 128, 1]
    assert [c.stride[0] for c in convs] == [2, 1, 2, 1, 2, 1, 1]
