import pytest
import torch
import torchvision
from torch import nn

from models.vgg import VGGFeatures, build_vgg, load_vgg19_state
from utils.errors import UserError


def test_slice_ends_at_conv4_4_before_relu():
    vgg = VGGFeatures()
    assert len(vgg.features) == 26
    last = vgg.features[-1]
    assert isinstance(last, nn.Conv2d) and (last.in_channels, last.out_channels) == (512, 512)
    assert sum(isinstance(m, nn.Conv2d) for m in vgg.features) == 12  # conv1_1 ... conv4_4
    assert sum(isinstance(m, nn.MaxPool2d) for m in vgg.features) == 3
    assert vgg(torch.rand(1, 3, 64, 64) * 2 - 1).min() < 0  # pre-ReLU: negative values survive


def test_normalisation_matches_torchvision_imagenet_transform():
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    normalize = torchvision.transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    assert torch.allclose(VGGFeatures().normalize(x), normalize((x + 1) / 2), atol=1e-6)


def test_frozen_and_always_eval():
    vgg = VGGFeatures()
    vgg.train()
    assert not vgg.training and not any(p.requires_grad for p in vgg.parameters())


def test_loads_weights_from_a_local_file(tmp_path):
    full = torchvision.models.vgg19(weights=None)
    torch.save(full.state_dict(), tmp_path / "vgg19.pth")
    vgg = build_vgg(str(tmp_path / "vgg19.pth"), "cpu")
    assert torch.equal(vgg.features[25].weight, full.features[25].weight)


def test_missing_and_bad_weight_files(tmp_path):
    with pytest.raises(UserError, match="nope.pth: VGG19 weights file not found"):
        load_vgg19_state(str(tmp_path / "nope.pth"))
    (tmp_path / "bad.pth").write_text("x")
    with pytest.raises(UserError, match="bad.pth: not a readable VGG19 state dict"):
        load_vgg19_state(str(tmp_path / "bad.pth"))
