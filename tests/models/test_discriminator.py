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


def test_forward_is_disc_sn_written_out_with_tf_same_padding():
    """WB's ``disc_sn``: for c in (32, 64, 128): lrelu(conv3×3 stride 2), lrelu(conv3×3 stride 1), lrelu slope
    0.2; then conv1×1 to one channel. TF 'SAME': out = ⌈n/s⌉, padding (out − 1)·s + k − n, the odd pixel at the
    bottom/right. Written here with F.pad and F.conv2d on the layers' (spectral-normalised, eval) weights."""
    import math

    import torch.nn.functional as F

    D = PatchDiscriminator(3, channel=4)
    for _ in range(3):
        D(torch.randn(1, 3, 16, 16))
    D.eval()
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [c.weight.shape[-1] for c in convs] == [3, 3, 3, 3, 3, 3, 1]

    def same(x, conv, stride):
        pads = []
        for n in (x.shape[3], x.shape[2]):  # F.pad takes the last dimension first
            total = max((math.ceil(n / stride) - 1) * stride + 3 - n, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), conv.weight, conv.bias, stride)

    x = torch.randn(2, 3, 21, 26)
    h = x
    with torch.no_grad():
        for i, conv in enumerate(convs[:-1]):
            h = F.leaky_relu(same(h, conv, 2 if i % 2 == 0 else 1), 0.2)
        want = F.conv2d(h, convs[-1].weight, convs[-1].bias)
        torch.testing.assert_close(D(x), want, atol=1e-5, rtol=1e-5)
