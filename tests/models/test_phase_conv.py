"""A 3×3 convolution after a nearest ×2 upsampling, computed as four 2×2 phase convolutions at low resolution:
equal to the upsample-then-convolve it replaces (checked in float64 against torch's own ops), and cheaper."""
import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from models.face_generator import FaceGenerator
from models.phase_conv import PhaseUpsampleConv, split_upsampling


@pytest.mark.parametrize("c_in, c_out, h, w, bias", [(1, 1, 1, 1, True), (5, 7, 6, 9, True), (3, 4, 5, 2, False),
                                                     (16, 3, 8, 8, True)])
def test_equals_upsample_then_convolve(c_in, c_out, h, w, bias):
    torch.manual_seed(0)
    conv = nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias).double()
    x = torch.randn(2, c_in, h, w, dtype=torch.double)
    want = conv(F.interpolate(x, scale_factor=2, mode="nearest"))
    got = PhaseUpsampleConv(conv)(x)
    assert got.shape == want.shape == (2, c_out, 2 * h, 2 * w)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def test_a_phase_reads_only_its_own_low_resolution_neighbours():
    """A single 1 in the input and a kernel that is 1 at one tap: the output is where the upsampled 1 lands
    shifted by that tap, in every phase (the folding of rows and columns, not only its sums)."""
    x = torch.zeros(1, 1, 4, 4, dtype=torch.double)
    x[0, 0, 1, 2] = 1
    for ky in range(3):
        for kx in range(3):
            conv = nn.Conv2d(1, 1, 3, 1, 1, bias=False).double()
            with torch.no_grad():
                conv.weight.zero_()
                conv.weight[0, 0, ky, kx] = 1
            want = conv(F.interpolate(x, scale_factor=2, mode="nearest"))
            assert torch.equal(PhaseUpsampleConv(conv)(x), want), (ky, kx)


def test_the_face_generator_split_gives_the_same_cartoon_for_four_ninths_of_the_upsampling_work():
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    G = FaceGenerator().eval()
    with torch.no_grad():
        for m in G.modules():  # BatchNorm statistics away from identity, so they are part of the check
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    split = split_upsampling(copy.deepcopy(G))
    assert sum(isinstance(m, PhaseUpsampleConv) for m in split.modules()) == 4
    assert not any(isinstance(m, nn.Upsample) for m in split.modules())
    x = torch.rand(1, 3, 64, 96) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(split(x), G(x), rtol=0, atol=1e-5)
    flops = []
    for model in (G, split):
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.zeros(1, 3, 256, 256))
        flops.append(counter.get_total_flops())
    assert flops[0] == pytest.approx(4.0486e9, rel=1e-3)
    # the four upsampling convolutions at 256²: 2·9·C_in·C_out FLOPs per output pixel, at 32², 64², 128², 256²
    upsampling = 2 * 9 * (32**2 * 128 * 96 + 64**2 * 96 * 64 + 128**2 * 64 * 32 + 256**2 * 32 * 3)
    assert flops[0] - flops[1] == pytest.approx(upsampling * 5 / 9, rel=1e-6)


@pytest.mark.parametrize("conv", [nn.Conv2d(2, 2, 3, 2, 1), nn.Conv2d(2, 2, 5, 1, 2), nn.Conv2d(2, 2, 3, 1, 0),
                                  nn.Conv2d(2, 2, 3, 1, 1, groups=2), nn.Conv2d(2, 2, 3, 1, 1, padding_mode="reflect")])
def test_other_convolutions_are_left_alone_and_refused(conv):
    seq = nn.Sequential(nn.Upsample(scale_factor=2), conv)
    split_upsampling(seq)
    assert isinstance(seq[0], nn.Upsample) and seq[1] is conv
    with pytest.raises(ValueError, match="not a 3×3, stride-1, padding-1, ungrouped convolution"):
        PhaseUpsampleConv(conv)


def test_bilinear_or_other_factors_are_left_alone():
    for up in (nn.Upsample(scale_factor=2, mode="bilinear"), nn.Upsample(scale_factor=3)):
        seq = nn.Sequential(up, nn.Conv2d(2, 2, 3, 1, 1))
        split_upsampling(seq)
        assert seq[0] is up
