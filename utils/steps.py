"""One optimisation step of each phase, testable on CPU with tiny tensors. Scripts only wire data and I/O.

Each step returns a dict of floats. When a loss term is non-finite the update is skipped and the dict carries
``"nonfinite": <term name>`` (the run loop counts these and stops after too many in a row).
"""
import torch
import torch.nn.functional as F


def first_nonfinite(terms: dict) -> str | None:
    """Name of the first term whose value is NaN or ±inf, else None (one device sync for all terms)."""
    names = list(terms)
    finite = torch.isfinite(torch.stack([terms[n].detach().float() for n in names])).tolist()
    return next((n for n, ok in zip(names, finite) if not ok), None)


def pretrain_step(photo: torch.Tensor, G, opt_G, precision) -> dict:
    """White-box's pretraining: L1 reconstruction, ``mean |G(x) − x|``, no guided filter. photo: (B,3,H,W)."""
    with precision.autocast():
        out = G(photo)
    loss = F.l1_loss(out.float(), photo)
    bad = first_nonfinite({"l1": loss})
    if bad:
        return {"l1": loss.item(), "nonfinite": bad}
    precision.minimize(loss, opt_G)
    return {"l1": loss.item()}
