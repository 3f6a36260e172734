"""Distillation: a small generator (the student) taught to draw what a larger one (the teacher) draws.

    L = mean |S(x) − T(x)| + λ · (mean |∂ₓS(x) − ∂ₓT(x)| + mean |∂ᵧS(x) − ∂ᵧT(x)|) + μ · L_flat

∂ₓ, ∂ᵧ are differences of neighbouring pixels. The cartoon's flat regions are flat to the level (a Sobel response
under 8 of 255 is 'flat': ``inference.stylization``) and its ink lines are one or two pixels wide: both live in
the differences, which the plain L1 term averages away (a student trained on it alone draws a blurred photo in
the teacher's colours).

The flatness term (weight μ, ``--flat``, ``losses/flatness.py``) asks for the teacher's flat areas to be flat in the
student too: the student's Sobel response above half the flat share's threshold where the teacher's is under it.
"""
import torch

from losses.flatness import flatness_residue
from losses.gradients import pixel_differences


def distill_loss(student: torch.Tensor, teacher: torch.Tensor, edges: float = 1.0, flat: float = 0.0
                 ) -> dict[str, torch.Tensor]:
    """{'l1', 'edges', 'flat', 'total'} for student and teacher outputs (B, 3, H, W) in [-1, 1] (float32 sums)."""
    s, t = student.float(), teacher.float()
    l1 = (s - t).abs().mean()
    (sx, sy), (tx, ty) = pixel_differences(s), pixel_differences(t)
    diff = (sx - tx).abs().mean() + (sy - ty).abs().mean()
    residue = flatness_residue(s, t)
    return {"l1": l1, "edges": diff, "flat": residue, "total": l1 + edges * diff + flat * residue}
