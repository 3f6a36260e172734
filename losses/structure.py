"""Structure loss: VGG19 features of the output against those of its superpixel painting (weight --w4).

The superpixel target is computed from the (detached) output by ``losses.superpixel`` (SLIC, or selective search
with --use_enhance); it flattens the output into colour regions, so matching it pushes towards flat
cel-shaded areas while VGG keeps the layout.
"""
import torch

from losses.content import vgg_l1


def structure_loss(vgg_superpixel: torch.Tensor, vgg_output: torch.Tensor) -> torch.Tensor:
    """WB: mean |VGG(superpixel(output)) − VGG(output)| / (C·H·W)."""
    return vgg_l1(vgg_superpixel, vgg_output)
