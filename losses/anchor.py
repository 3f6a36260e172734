"""Style anchor (weight --w6): hold a fine-tuned generator near the model it started from.

Not White-box's: when a released model already makes the wanted cartoons, fine-tuning it for another term (the
landmark term) only has to move it where that term asks. The anchor is the untouched starting model's output on
the same photo, so the term needs no VGG and no discriminators.
"""
import torch


def style_anchor(output: torch.Tensor, anchor: torch.Tensor) -> torch.Tensor:
    """mean |G(x) − G0(x)| over (B, 3, H, W), both in [-1, 1], in float32 at least; G0's output carries no
    gradient."""
    dtype = torch.promote_types(output.dtype, torch.float32)
    return (output.to(dtype) - anchor.detach().to(dtype)).abs().mean()
