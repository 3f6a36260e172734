"""A thinner face generator cut out of a wider one (the distilled student's start): the largest channels of each
group, one choice per group the U-Net adds together, every tensor sliced to them."""
import torch

from models.face_generator import FaceGenerator
from models.prune import LAYERS, kept_channels, thinner


def teacher(channel=8, seed=0) -> FaceGenerator:
    torch.manual_seed(seed)
    G = FaceGenerator(channel, 2).eval()
    with torch.no_grad():
        for m in G.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.3, 0.3)
                m.weight.uniform_(0.5, 1.5)
    return G


def test_keeping_every_channel_gives_the_teacher_back():
    T = teacher()
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(thinner(T, 8).eval()(x), T(x))


def test_the_largest_filters_are_kept_and_added_groups_share_one_choice():
    T = teacher()
    with torch.no_grad():  # channels 1 and 6 of the group down3 and up1 write (g3, 24 wide) made the largest
        for name in ("down3.conv_layer.3", "up1.conv_layer.4"):
            dict(T.named_modules())[name].weight[[1, 6]] *= 100
    kept = kept_channels(T.state_dict(), 0.5)
    assert {1, 6} <= set(kept["g3"].tolist()) and len(kept["g3"]) == 12 and kept["g3"].tolist() == sorted(kept["g3"])
    S = thinner(T, 4)
    s, t = S.state_dict(), T.state_dict()
    rows, cols = kept["g3"], kept["d3"]
    assert torch.equal(s["down3.conv_layer.3.weight"], t["down3.conv_layer.3.weight"][rows][:, cols])
    assert torch.equal(s["up1.act.0.running_mean"], t["up1.act.0.running_mean"][rows])
    assert torch.equal(s["up2.conv_layer.0.weight"], t["up2.conv_layer.0.weight"][kept["u2"]][:, rows])  # reads g3
    assert s["up4.conv_layer.4.weight"].shape == (3, 4, 3, 3)  # the output's 3 channels stay


def test_every_convolution_and_batchnorm_of_the_generator_is_listed():
    convs = {n for n, m in FaceGenerator(4, 1).named_modules() if isinstance(m, torch.nn.Conv2d)}
    assert {conv for conv, _, _, _ in LAYERS} == convs
