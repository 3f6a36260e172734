import pytest
import torch

from models.generator import Generator


def test_parameter_count_matches_white_box():
    assert sum(p.numel() for p in Generator().parameters()) == 1_467_075


@pytest.mark.parametrize("size", [(64, 64), (128, 128), (256, 256), (96, 160)])
def test_output_shape_equals_input_shape(size):
    with torch.no_grad():
        out = Generator()(torch.randn(1, 3, *size))
    assert out.shape == (1, 3, *size)


def _grad_after_zeroing(*names):
    G = Generator()
    with torch.no_grad():
        for name in names:
            getattr(G, name).weight.zero_()
            getattr(G, name).bias.zero_()
    G(torch.randn(1, 3, 32, 32)).square().mean().backward()
    return G


def test_gradient_reaches_encoder_through_x1_skip_alone():
    # conv3 zeroed: the bottleneck output is 0, so down1 reaches the output only through the x1 skip.
    G = _grad_after_zeroing("conv3")
    assert G.conv2.weight.grad.abs().sum() == 0  # main path really cut
    assert G.down1.weight.grad.abs().sum() > 0


def test_gradient_reaches_first_conv_through_x0_skip_alone():
    # conv3 and up1b zeroed: the x3 branch is 0, so conv0 reaches the output only through the x0 skip.
    G = _grad_after_zeroing("conv3", "up1b")
    assert G.down1.weight.grad.abs().sum() == 0
    assert G.conv0.weight.grad.abs().sum() > 0


def test_no_output_activation():
    G = Generator()
    with torch.no_grad():
        G.out.bias.fill_(5.0)
        assert G(torch.zeros(1, 3, 16, 16)).min() > 1.0  # not squashed into [-1, 1]


def test_arch_names_the_generator_and_its_size():
    assert Generator(8, 2).arch() == {"generator": "whitebox", "channel": 8, "num_blocks": 2}
