"""One optimisation step of each phase, testable on CPU with tiny tensors. Scripts only wire data and I/O.

Each step returns a dict of floats. When a loss term is non-finite the update is skipped and the dict carries
``"nonfinite": <term name>`` (the run loop counts these and stops after too many in a row).
"""
import math
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from losses.adversarial import lsgan_d_loss, lsgan_g_loss
from losses.anchor import anchor_weight, line_guard, shading_guard, style_anchor
from losses.content import content_loss
from losses.distill import distill_loss
from losses.flatness import flatness_residue
from losses.landmark import EdgeView, heatmaps
from losses.structure import structure_loss
from losses.surface import surface
from losses.texture import RANGES, color_shift, draw_channel_mix
from losses.tv import total_variation
from losses.weights import LossWeights
from models.conventions import generate
from training.distributed import any_rank, unwrap
from utils.runtime import requires_grad


def as_floats(terms: dict) -> dict[str, float]:
    """Loss tensors -> Python floats in one device-to-host transfer (one sync per step, not one per term)."""
    names = list(terms)
    return dict(zip(names, torch.stack([terms[n].detach().float() for n in names]).tolist()))


def first_nonfinite(values: dict[str, float], device) -> str | None:
    """Name of the first NaN or ±inf value, else None.

    In a distributed run every rank skips when any rank has a non-finite term (a rank that skipped its backward
    alone would leave the others waiting in the gradient all-reduce); a rank that is fine reports 'other rank'.
    """
    bad = next((n for n, v in values.items() if not math.isfinite(v)), None)
    if any_rank(bad is not None, device) and bad is None:
        return "other rank"
    return bad


def pretrain_step(photo: torch.Tensor, G, opt_G, precision) -> dict:
    """White-box's pretraining: L1 reconstruction, ``mean |G(x) − x|``, no guided filter. photo: (B,3,H,W)."""
    with precision.autocast():
        out = G(photo)
    loss = F.l1_loss(out.float(), photo)
    values = as_floats({"l1": loss})
    bad = first_nonfinite(values, photo.device)
    if bad:
        return {**values, "nonfinite": bad}
    precision.minimize(loss, opt_G, "G")
    return values


def distill_step(photo: torch.Tensor, student, teacher, opt, precision, edges: float = 1.0, flat: float = 0.0
                 ) -> dict:
    """One step of the student toward the frozen teacher's cartoon of ``photo`` (both by their conventions):
    ``losses.distill.distill_loss``. photo: (B, 3, H, W) in [-1, 1]."""
    with precision.autocast():
        with torch.no_grad():
            target = generate(teacher, photo)
        out = generate(student, photo, training=True)
    terms = distill_loss(out, target, edges, flat)
    values = as_floats(terms)
    bad = first_nonfinite(values, photo.device)
    if bad:
        return {**values, "nonfinite": bad}
    precision.minimize(terms["total"], opt, "G")
    return values


@dataclass
class Nets:
    """Everything train_step updates or reads; built once in train.py (or in a test). Under torchrun the three
    trainable networks are DDP wrappers (``distributed.wrap``); ``parts()`` gives what a checkpoint stores.
    ``anchor``: the untouched starting generator, frozen, for the style-anchor term and its guards (--w6 … --w9),
    else None; ``landmark``: the landmark term (--w5) in the view --landmark_view names: a callable
    ``(output, photo, points, heatmaps) -> (loss, faces read or None)`` with ``uses_heatmaps``
    (``losses.landmark.EdgeView``, ``losses.landmark_points.PointsView``, which owns its reader)."""
    G: nn.Module
    D_texture: nn.Module
    D_surface: nn.Module
    vgg: nn.Module
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    anchor: nn.Module | None = None
    landmark: Callable = field(default_factory=EdgeView)

    def parts(self) -> dict:
        return {"G": unwrap(self.G), "D_texture": unwrap(self.D_texture), "D_surface": unwrap(self.D_surface),
                "opt_G": self.opt_G, "opt_D": self.opt_D}


@dataclass(frozen=True)
class FaceSettings:
    """How the face terms share the face (train.py's flags): the landmark heatmaps' σ (a fraction of the image
    side, --landmark_sigma) and how much the style anchor frees the face's contours (--anchor_free, 0: not at
    all). What the landmark term compares is the term's own (``Nets.landmark``)."""
    sigma: float = 0.015
    anchor_free: float = 0.0


def train_step(photo: torch.Tensor, cartoon: torch.Tensor, nets: Nets, weights: LossWeights, precision,
               superpixels, points: torch.Tensor | None = None, face: FaceSettings = FaceSettings(),
               d_steps: int = 1) -> dict:
    """One White-box step: a G step on the weighted loss, then ``d_steps`` steps of both Ds on
    ``fake.detach()``. photo, cartoon: (B, 3, H, W) in [-1, 1]. ``superpixels.submit`` starts the structure
    target while the VGG and discriminator forwards run. ``points``: the photos' (B, 68, 2) landmarks for the
    landmark term and a freed anchor (NaN where no face); ``face``: how those terms see the face. Returns every
    term, unweighted (``tv``) and weighted (``tv_w``), and the totals. A term whose weight is 0 is not computed,
    and with --w1 and --w2 both 0 the discriminators do not train (the style-anchor fine-tune needs neither them
    nor VGG).
    """
    G, vgg = nets.G, nets.vgg
    # the G step reads the discriminators unwrapped: under DDP their parameters, frozen here, would leave the
    # reducer waiting for gradients that never come. The D step below goes through the DDP wrappers.
    D_tex, D_surf = unwrap(nets.D_texture), unwrap(nets.D_surface)
    requires_grad(D_tex, False)
    requires_grad(D_surf, False)
    with precision.autocast():
        fake = generate(G, photo, training=True)
    pending = superpixels.submit(fake) if weights.structure > 0 else None
    adversarial = weights.surface > 0 or weights.texture > 0
    with precision.autocast():
        shift = draw_channel_mix(photo.device)  # drawn even when unused: the RNG stream stays the same
        blur_fake = surface(fake) if adversarial else None  # the surface term's and the D step's input
        raw = {"tv": total_variation(fake.float())}
        if weights.surface > 0:
            raw["surface"] = lsgan_g_loss(D_surf(blur_fake))
        if weights.texture > 0:
            raw["texture"] = lsgan_g_loss(D_tex(color_shift(fake, shift)))
        if weights.content > 0 or pending is not None:
            vgg_fake = vgg(fake)
            with torch.no_grad():  # photo and superpixel target through VGG in one call (bench: 1.15× two calls)
                targets = photo if pending is None else torch.cat([photo, pending.result().to(photo.dtype)])
                vgg_targets = vgg(targets).split(photo.shape[0])
            raw["content"] = content_loss(vgg_targets[0], vgg_fake)
            if pending is not None:
                raw["structure"] = structure_loss(vgg_targets[1], vgg_fake)
        freed = nets.anchor is not None and weights.anchor > 0 and face.anchor_free > 0
        term = nets.landmark if weights.landmark > 0 and points is not None else None
        maps = None  # the photos' landmark heatmaps, computed once for the landmark term and a freed anchor
        if points is not None and (term is not None and term.uses_heatmaps or freed):
            size = photo.shape[-1]
            maps = heatmaps(points.to(photo.device), size, face.sigma * size)
        faces_read = None
        if term is not None:
            raw["landmark"], faces_read = term(fake, photo, points, maps)
        if nets.anchor is not None and weights.holds_to_start:
            with torch.no_grad():
                anchor = generate(nets.anchor, photo, training=True)
                free = anchor_weight(maps, face.anchor_free) if freed and maps is not None else None
            if weights.anchor > 0:
                raw["anchor"] = style_anchor(fake, anchor, free)
            if weights.shading > 0:
                raw["shading"] = shading_guard(fake, anchor)
            if weights.lines > 0:
                raw["lines"] = line_guard(fake, anchor)
            if weights.flatness > 0:
                raw["flatness"] = flatness_residue(fake.float(), anchor.float())
    weighted = weights.weigh(raw)
    g_total = sum(weighted.values())
    out = as_floats({**raw, **{f"{k}_w": v for k, v in weighted.items()}, "g_total": g_total})
    if faces_read is not None:  # how many photos of the batch the points view could read (the rest: dropped)
        out["faces_read"] = faces_read
    bad = first_nonfinite(out, photo.device)
    if bad:
        return {**out, "nonfinite": bad}
    precision.minimize(g_total, nets.opt_G, "G")
    if not adversarial:
        return out
    return {**out, **d_update(fake.detach(), blur_fake.detach(), cartoon, nets, precision, d_steps)}


def d_update(fake: torch.Tensor, blur_fake: torch.Tensor, cartoon: torch.Tensor, nets: Nets, precision,
             d_steps: int = 1) -> dict:
    """``d_steps`` LSGAN steps of both discriminators: cartoons real, G's (detached) outputs fake."""
    requires_grad(unwrap(nets.D_texture), True)
    requires_grad(unwrap(nets.D_surface), True)
    with torch.no_grad():
        blur_cartoon = surface(cartoon)
    out = {}
    for _ in range(d_steps):
        shift = draw_channel_mix(cartoon.device)  # a fresh draw, as WB's separate d_optim run does
        with precision.autocast():
            # real and fake in one batch: one forward (and one spectral-norm power iteration) per D
            texture_pair = torch.cat([color_shift(cartoon, shift), color_shift(fake, shift)])
            tex_real, tex_fake = nets.D_texture(texture_pair).chunk(2)
            surf_real, surf_fake = nets.D_surface(torch.cat([blur_cartoon, blur_fake])).chunk(2)
        d = {"d_texture": lsgan_d_loss(tex_real, tex_fake), "d_surface": lsgan_d_loss(surf_real, surf_fake)}
        d_total = d["d_texture"] + d["d_surface"]
        out.update(as_floats({**d, "d_total": d_total}))
        bad = first_nonfinite(out, cartoon.device)
        if bad:
            return {**out, "nonfinite": bad}
        precision.minimize(d_total, nets.opt_D, "D")
    return out


def d_warmup_step(photo: torch.Tensor, cartoon: torch.Tensor, nets: Nets, precision, d_steps: int = 1) -> dict:
    """A discriminator-only step against a frozen G (train.py --d_warmup): when G starts from a trained model
    but the discriminators from random weights (White-box released G alone), their first, uninformed gradients
    would otherwise push G around. G is untouched; returns the D terms."""
    with torch.no_grad(), precision.autocast():
        fake = generate(unwrap(nets.G), photo, training=True)
        blur_fake = surface(fake)
    return d_update(fake.float(), blur_fake.float(), cartoon, nets, precision, d_steps)


@torch.no_grad()
def representations(photo: torch.Tensor, G: nn.Module, superpixels) -> list[torch.Tensor]:
    """The sample-grid columns: photo | output | superpixel | surface blur | texture gray (mean weights)."""
    fake = generate(unwrap(G), photo, training=True)
    mid = torch.tensor([(lo + hi) / 2 for lo, hi in RANGES])
    return [photo, fake, superpixels(fake), surface(fake), color_shift(fake, mid)]
