"""Content loss: VGG19 conv4_4 features of the photo and of the output (weight --w3)."""
import torch


def vgg_l1(features_a: torch.Tensor, features_b: torch.Tensor) -> torch.Tensor:
    """WB's form: mean |a − b| / (C·H·W) over (B, C, H, W) feature maps (TF's absolute_difference is a mean)."""
    c, h, w = features_a.shape[1:]
    return (features_a.float() - features_b.float()).abs().mean() / (c * h * w)


def content_loss(vgg_photo: torch.Tensor, vgg_output: torch.Tensor) -> torch.Tensor:
    """VGG(photo) vs VGG(output): keeps the photo's content."""
    return vgg_l1(vgg_photo, vgg_output)
