"""Texture representation: a random colour shift to one gray channel (weight --w2), White-box's ``color_shift``."""
import torch

# Uniform ranges of the channel mix (WB's random per-channel weights), in RGB order. WB splits its BGR images into
# b, g, r and draws b ∈ U[0.014, 0.214], g ∈ U[0.487, 0.687], r ∈ U[0.199, 0.399];
# these are the same draws for RGB tensors.
RANGES = ((0.199, 0.399), (0.487, 0.687), (0.014, 0.214))


def draw_channel_mix(device=None, generator: torch.Generator | None = None) -> torch.Tensor:
    """The colour shift's channel mix: ONE scalar per channel for the whole batch and step, shape (3,)."""
    u = torch.rand(3, generator=generator)
    lo, hi = torch.tensor(RANGES).T
    return (lo + u * (hi - lo)).to(device)


def color_shift(image: torch.Tensor, mix: torch.Tensor) -> torch.Tensor:
    """(wr·R + wg·G + wb·B) / (wr + wg + wb) with the channel mix (wr, wg, wb); (B, 3, H, W) -> (B, 1, H, W). Use
    the same mix for the output and the cartoon of one step."""
    w = mix.to(device=image.device, dtype=image.dtype).view(1, 3, 1, 1)
    return (image * w).sum(1, keepdim=True) / w.sum()
