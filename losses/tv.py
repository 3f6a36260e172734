"""Total variation, White-box's ``total_variation_loss`` (weight --w0)."""
import torch


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """(mean (x[:, :, 1:] − x[:, :, :-1])² + mean (x[..., 1:] − x[..., :-1])²) / (3·H·W); x: (B, 3, H, W)."""
    h, w = x.shape[-2:]
    tv_h = (x[:, :, 1:] - x[:, :, :-1]).square().mean()
    tv_w = (x[..., 1:] - x[..., :-1]).square().mean()
    return (tv_h + tv_w) / (3 * h * w)
