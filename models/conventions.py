"""What a generator carries besides its weights, and the one function that runs any generator by them.

Every generator class in models/ subclasses ``CartoonGenerator`` and sets its conventions as class attributes (the way
timm's ``pretrained_cfg`` or torchvision's weight ``meta`` travel with a model); callers ask the model and never
branch on which model it is:

    channel_order   "RGB" or "BGR": the order G's input and output channels are in (the project's images are RGB)
    size_multiple   H and W must be multiples of it (2^number of stride-2 layers)
    test_eps        eps of the test-time guided filter (r = 1) guided by the photo, or None for no filter
    train_eps       the same while training (what the losses judge), or None
    native_size     the side the model was trained at (aligned face crops run at it)
"""
import torch
from torch import nn

from models.guided_filter import guided_filter


class CartoonGenerator(nn.Module):
    name = ""  # the checkpoint's arch["generator"]
    channel_order = "RGB"
    size_multiple = 4
    test_eps: float | None = None
    train_eps: float | None = None
    native_size = 256

    def arch(self) -> dict:
        """What a checkpoint stores to rebuild this module (``models.zoo.build_generator``)."""
        raise NotImplementedError


def conventions(G: nn.Module) -> CartoonGenerator:
    """The CartoonGenerator inside a DDP (``.module``) or compile (``._orig_mod``) wrapper."""
    while not isinstance(G, CartoonGenerator):
        G = getattr(G, "module", None) or getattr(G, "_orig_mod")
    return G


def generate(G: nn.Module, photo: torch.Tensor, training: bool = False) -> torch.Tensor:
    """Photo (B, 3, H, W) RGB in [-1, 1], H and W multiples of G's size_multiple -> G's cartoon, RGB.

    ``G`` is called as given (a DDP wrapper keeps its gradient hooks); its conventions decide the channel order
    and whether the output goes through the guided filter guided by the photo (White-box: r = 1, eps 1e-2 when
    training, 5e-3 at test time)."""
    c = conventions(G)
    bgr = c.channel_order == "BGR"
    out = G(photo.flip(1) if bgr else photo)
    out = out.flip(1) if bgr else out
    eps = c.train_eps if training else c.test_eps
    return guided_filter(photo, out, 1, eps) if eps is not None else out
