"""A small differentiable landmark reader: Peppa's "Slim" network (68 points from a 160² face crop, 26 MFLOPs).

    conv1    3×3 stride-2 convolution 3 → 16, BatchNorm, ReLU
    conv2…13 depthwise 3×3 (stride 2 in conv3, 5, 9, 12), BN, ReLU, then pointwise 1×1, BN, ReLU;
             widths 32, 32, 32, 64, 64, 64, 64, 128, 128, 128, 256, 256
    head     the spatial means of conv8 (64), conv11 (128) and conv13 (256) outputs, concatenated (448),
             one linear layer → 143 = 68 (x, y) as fractions of the crop + 7 pose and eye/mouth states

The layer names are those of the author's state dict (``models/released/peppa/``), so it loads as it is. Input:
(B, 3, 160, 160) BGR, (pixel − 127) / 127 (``losses.landmark_points`` makes it from this project's RGB in [-1, 1]).
The shipped weights load through ``models.released.landmark_reader``.
"""
import torch
from torch import nn

# (width, stride) of the depthwise-separable blocks conv2 … conv13
BLOCKS = ((32, 1), (32, 2), (32, 1), (64, 2), (64, 1), (64, 1), (64, 1), (128, 2), (128, 1), (128, 1), (256, 2),
          (256, 1))
POOLED = (8, 11, 13)  # the blocks whose spatial means feed the head


def _conv_bn_relu(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True)]


class SlimReader(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(*_conv_bn_relu(3, 16, 3, 2))
        cin = 16
        for i, (cout, stride) in enumerate(BLOCKS, start=2):
            setattr(self, f"conv{i}", nn.Sequential(*_conv_bn_relu(cin, cin, 3, stride, groups=cin),
                                                    *_conv_bn_relu(cin, cout, 1)))
            cin = cout
        self.fc = nn.Linear(sum(BLOCKS[i - 2][0] for i in POOLED), 143)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, 160, 160) -> (B, 143)."""
        pooled = []
        x = self.conv1(x)
        for i in range(2, len(BLOCKS) + 2):
            x = getattr(self, f"conv{i}")(x)
            if i in POOLED:
                pooled.append(x.mean((2, 3)))
        return self.fc(torch.cat(pooled, 1))

    def points(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, 160, 160) -> (B, 68, 2): (x, y) as fractions of the crop's width and height."""
        return self.forward(x)[:, :136].view(-1, 68, 2)
