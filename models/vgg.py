"""VGG19 up to conv4_4 (before its ReLU), frozen, for the content and structure losses.

    python -m models.vgg --ensure PATH   # write usable VGG19 weights to PATH (used by `make demo`)
"""
import argparse
from pathlib import Path

import torch
import torchvision
from torch import nn

from utils.errors import UserError, cli
from utils.weights import load_weights, torchvision_cache

WEIGHTS_FILE = "vgg19-dcbb9e9d.pth"  # torchvision's IMAGENET1K_V1 file name
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class VGGFeatures(nn.Module):
    """torchvision ``vgg19().features[:26]``: conv1_1 … conv4_4, ending before relu4_4 (WB's ``build_conv4_4``).

    Input (B, 3, H, W) RGB in [-1, 1], mapped to ImageNet normalisation ((x+1)/2 − mean)/std as torchvision's
    weights expect. (WB's caffe weights took BGR·255 minus the BGR means; same role, other convention.)
    Output (B, 512, H/8, W/8). Always in eval mode, no parameter gradients.
    """

    def __init__(self, state_dict: dict | None = None):
        super().__init__()
        # features only: vgg19() would also initialise its 120M-parameter classifier, which is never used
        self.features = torchvision.models.vgg.make_layers(torchvision.models.vgg.cfgs["E"])[:26]
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
    return load_weights(path, WEIGHTS_FILE, torchvision.models.VGG19_Weights.IMAGENET1K_V1, "VGG19", "--vgg_weights")


def build_vgg(path: str | None, device) -> VGGFeatures:
    try:
        return VGGFeatures(load_vgg19_state(path)).to(device)
    except RuntimeError as e:
        source = path or torchvision_cache(WEIGHTS_FILE)
        raise UserError(f"{source}: does not fit VGG19 ({str(e).splitlines()[0][:150]})") from None


@cli
def main(argv=None):
    p = argparse.ArgumentParser(description="Make VGG19 weights available at a path (for offline demos).")
    p.add_argument("--ensure", required=True, help="where the weights should be")
    opts = p.parse_args(argv)
    out = Path(opts.ensure)
    if out.is_file():
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.save(load_vgg19_state(None), out)
        print(f"VGG19 ImageNet weights -> {out}")
    except UserError as e:
        torch.save(torchvision.models.vgg19(weights=None).state_dict(), out)
        print(f"warning: {e}\nwarning: wrote RANDOMLY initialised VGG19 weights to {out} so the demo runs offline; "
              f"content/structure losses then use random features. Real runs need the ImageNet weights.")


if __name__ == "__main__":
    main()
