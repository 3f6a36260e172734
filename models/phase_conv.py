"""A 3×3 convolution after a nearest ×2 upsampling, computed at the low resolution: four 2×2 convolutions, one per
output phase, then depth-to-space. Exact (the same sums, in another order), and 4/9 of the multiply-adds.

For an output pixel (2i + a, 2j + b), the 3×3 window over the upsampled image reads low-resolution rows
    a = 0:  i−1, i, i      → a 2-tap kernel on rows (i−1, i) with weights (w₀, w₁ + w₂)
    a = 1:  i, i, i+1      → a 2-tap kernel on rows (i, i+1) with weights (w₀ + w₁, w₂)
and the same for columns; zero padding of the upsampled image is zero padding of the low-resolution one. So
phase (a, b) is a 2×2 convolution of the input padded by 1, read from offset (a, b). The face generator's four
upsampling convolutions are 35 % of its 4.05 GFLOP at 256²; split, the whole model is 3.27 GFLOP.
"""
import torch
import torch.nn.functional as F
from torch import nn

# rows of the 2-tap kernels as sums of the 3×3 kernel's rows: FOLD[a] @ w (3,) -> (2,)
FOLD = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]],  # a = 0: (w0, w1 + w2)
                     [[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])  # a = 1: (w0 + w1, w2)


class PhaseUpsampleConv(nn.Module):
    """``conv(upsample_nearest_2x(x))`` for a 3×3, stride-1, padding-1 ``conv``, as four 2×2 convolutions at the
    input's resolution and a pixel shuffle. (B, C_in, H, W) -> (B, C_out, 2H, 2W)."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        if not is_splittable(conv):
            raise ValueError(f"{conv}: not a 3×3, stride-1, padding-1, ungrouped convolution")
        w = conv.weight.detach()
        kernels = [torch.einsum("pk,ql,oikl->oipq", FOLD[a].to(w), FOLD[b].to(w), w) for a in (0, 1) for b in (0, 1)]
        # pixel_shuffle reads channel c·4 + a·2 + b as phase (a, b) of output channel c
        self.weight = nn.Parameter(torch.stack(kernels, 1).flatten(0, 1), requires_grad=False)
        bias = conv.bias.detach() if conv.bias is not None else torch.zeros(w.shape[0], dtype=w.dtype)
        self.bias = nn.Parameter(bias.repeat_interleave(4), requires_grad=False)
        self.out_channels = w.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded = F.pad(x, (1, 1, 1, 1))
        h, w = x.shape[-2:]
        weights, biases = self.weight.view(self.out_channels, 4, *self.weight.shape[1:]), self.bias.view(-1, 4)
        phases = [F.conv2d(padded[..., a:a + h + 1, b:b + w + 1], weights[:, 2 * a + b], biases[:, 2 * a + b])
                  for a in (0, 1) for b in (0, 1)]
        return F.pixel_shuffle(torch.stack(phases, 2).flatten(1, 2), 2)


def is_splittable(conv: nn.Module) -> bool:
    return (isinstance(conv, nn.Conv2d) and conv.kernel_size == (3, 3) and conv.stride == (1, 1)
            and conv.padding == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1
            and conv.padding_mode == "zeros")


def is_nearest_2x(module: nn.Module) -> bool:
    return (isinstance(module, nn.Upsample) and module.mode == "nearest" and module.size is None
            and float(module.scale_factor) == 2.0)


def split_upsampling(model: nn.Module) -> nn.Module:
    """``model`` with every (nearest ×2 Upsample, splittable Conv2d) pair inside an nn.Sequential replaced by a
    PhaseUpsampleConv (and an Identity, so the Sequential's indices stay). In place; returns ``model``."""
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            if is_nearest_2x(seq[i]) and is_splittable(seq[i + 1]):
                seq[i], seq[i + 1] = nn.Identity(), PhaseUpsampleConv(seq[i + 1])
    return model
