"""White-box's ``disc_sn``: a spectral-norm patch discriminator, built twice (1 channel: texture, 3: surface)."""
import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from models.tf_ops import Conv2dSame


def sn(conv: nn.Conv2d) -> nn.Module:
    """Glorot-uniform weights and zero bias (TF ``get_variable`` defaults), then spectral normalisation."""
    nn.init.xavier_uniform_(conv.weight)
    nn.init.zeros_(conv.bias)
    return spectral_norm(conv)


class PatchDiscriminator(nn.Module):
    """Three stages of [SN conv3×3 s2, lrelu 0.2, SN conv3×3, lrelu 0.2] with c, 2c, 4c channels, then an SN
    conv1×1 to one channel. (B, in_ch, H, W) -> raw logits (B, 1, H/8, W/8): no sigmoid (LSGAN on logits).

    Spectral norm runs one power iteration per training-mode forward (its u/v vectors are buffers, saved
    in checkpoints and broadcast by DDP), as TF's ``spectral_norm`` does with its non-trainable ``u``.
    """

    def __init__(self, in_ch: int, channel: int = 32):
        super().__init__()
        layers, cin = [], in_ch
        for i in range(3):
            cout = channel * 2**i
            layers += [sn(Conv2dSame(cin, cout, 3, stride=2)), nn.LeakyReLU(0.2),
                       sn(Conv2dSame(cout, cout, 3)), nn.LeakyReLU(0.2)]
            cin = cout
        layers.append(sn(nn.Conv2d(cin, 1, 1)))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
