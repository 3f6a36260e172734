"""Style anchor (weight --w6): hold a fine-tuned generator near the model it started from.

Not White-box's: when a released model already makes the wanted cartoons, fine-tuning it for another term (the
landmark term) only has to move it where that term asks. The anchor is the untouched starting model's output on
the same photo, so the term needs no VGG and no discriminators.

Two guards compare the strength of the neighbouring-pixel differences, |∇y| = |∂ₓy| + |∂ᵧy|, of G's output with
the anchor's, one side each: the shading guard (--w7) charges the differences G adds, mean max(|∇G(x)| − |∇G0(x)|,
0), so flat areas stay flat; the line guard (--w8) charges those G takes away, mean max(|∇G0(x)| − |∇G(x)|, 0), so
the ink lines stay. A third guard, --w9, is the flatness term (``losses/flatness.py``) against G0(x).
"""
import torch

from losses.gradients import gradient_strength


def style_anchor(output: torch.Tensor, anchor: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """mean |G(x) − G0(x)| over (B, 3, H, W), both in [-1, 1], in float32 at least; G0's output carries no
    gradient. ``weight`` (B, 1, H, W), optional: mean w·|G(x) − G0(x)| instead (``anchor_weight``)."""
    dtype = torch.promote_types(output.dtype, torch.float32)
    diff = (output.to(dtype) - anchor.detach().to(dtype)).abs()
    return (diff if weight is None else weight.to(dtype) * diff).mean()


def anchor_weight(maps: torch.Tensor, free: float) -> torch.Tensor:
    """``--anchor_free f``: w = 1 − f·H, H the landmark heatmaps' max over the face's parts (B, 5, H, W) -> (B, 1,
    H, W). The style is held everywhere but near the eyes, brows, nose, mouth and jaw, where the geometry may move
    (f = 1: not held at all on the contours)."""
    return 1 - free * maps.amax(1, keepdim=True)


def shading_guard(output: torch.Tensor, anchor: torch.Tensor) -> torch.Tensor:
    """Weight --w7: mean max(|∇G(x)| − |∇G0(x)|, 0), shading the untouched model did not draw (the flat skin a
    geometry term would fill with the photo's soft gradients); G0's output carries no gradient."""
    return (gradient_strength(output) - gradient_strength(anchor.detach())).clamp_min(0).mean()


def line_guard(output: torch.Tensor, anchor: torch.Tensor) -> torch.Tensor:
    """Weight --w8: mean max(|∇G0(x)| − |∇G(x)|, 0), the untouched model's lines erased (a model that buys
    flatness by erasing its ink is not a better cartoon); G0's output carries no gradient."""
    return (gradient_strength(anchor.detach()) - gradient_strength(output)).clamp_min(0).mean()
