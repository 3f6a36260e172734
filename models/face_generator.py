"""The White-box author's face generator: ``SimpleGenerator`` of SystemErrorWang/FacialCartoonization.

Released as ``weight.pth`` (no training code), described there as "an improvement based on White-box". Module
names follow the author's class, so that state dict loads as it is:

    down_k = relu(bn(conv3×3(relu(bn(conv3×3 s2(x))))))        3 → 32 → 64 → 96 → 128 channels, k = 1..4
    res    = relu(x + bn(conv3×3(relu(bn(conv3×3(x))))))      ONE block applied num_blocks (4) times: the author
                                                              wrote ``[ResBlock(c)] * num_blocks``, so the four
                                                              entries are the same module with the same weights
    up_k   = relu(bn(conv3×3(up2(relu(bn(conv3×3(x)))))))     nearest ×2; the last: tanh(conv3×3(…)) instead
    out    = up4(up3(up2(up1(res⁴(down4)) + down3) + down2) + down1)

1,222,473 parameters in convolutions and BatchNorm affines (res counted once). Conventions
(``models.conventions``): BGR in and out (the author's inference.py feeds OpenCV's frames, x/127.5 − 1), sizes
multiple of 16 (four stride-2 convs), no guided filter at test or training time (the author's inference applies
none), trained at 256².

BatchNorm stays a module. Exports with BatchNorm folded into the convs (OpenVINO) load with *identity* BatchNorm
(``identity_batchnorm``): weight 1, bias 0, mean 0 and var 1 − eps, so (x − 0)/√(var + eps) = x exactly.
BatchNorm is always in eval mode, also while training (``train()`` leaves it): the running statistics are the
ones the weights were made with (identity for a folded export), where batch statistics of 4 photos would change
every output from the first step; its affine scale and shift still learn.
"""
import torch
from torch import nn

from models.conventions import CartoonGenerator


def conv_bn(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride, 1), nn.BatchNorm2d(c_out)]


class ResBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv_layer = nn.Sequential(*conv_bn(c, c), nn.ReLU(), *conv_bn(c, c))
        self.activation = nn.ReLU()

    def forward(self, x):
        return self.activation(self.conv_layer(x) + x)


class DownBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_layer = nn.Sequential(*conv_bn(c_in, c_out, 2), nn.ReLU(), *conv_bn(c_out, c_out), nn.ReLU())

    def forward(self, x):
        return self.conv_layer(x)


class UpBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, is_last: bool = False):
        super().__init__()
        self.is_last = is_last
        self.conv_layer = nn.Sequential(*conv_bn(c_in, c_in), nn.ReLU(), nn.Upsample(scale_factor=2),
                                        nn.Conv2d(c_in, c_out, 3, 1, 1))
        self.act = nn.Sequential(nn.BatchNorm2d(c_out), nn.ReLU())  # unused by the last block, kept for its keys
        self.last_act = nn.Tanh()

    def forward(self, x):
        x = self.conv_layer(x)
        return self.last_act(x) if self.is_last else self.act(x)


class FaceGenerator(CartoonGenerator):
    """(B, 3, H, W) BGR in [-1, 1] -> (B, 3, H, W) BGR in [-1, 1], H and W multiples of 16."""
    name, channel_order, size_multiple, native_size = "facial", "BGR", 16, 256
    train_eps = test_eps = None

    def __init__(self, num_channel: int = 32, num_blocks: int = 4):
        super().__init__()
        self.num_channel, self.num_blocks = num_channel, num_blocks
        c = num_channel
        self.down1, self.down2 = DownBlock(3, c), DownBlock(c, 2 * c)
        self.down3, self.down4 = DownBlock(2 * c, 3 * c), DownBlock(3 * c, 4 * c)
        block = ResBlock(4 * c)
        self.res_blocks = nn.Sequential(*[block] * num_blocks)  # one block, shared (the author's class)
        self.up1, self.up2 = UpBlock(4 * c, 3 * c), UpBlock(3 * c, 2 * c)
        self.up3, self.up4 = UpBlock(2 * c, c), UpBlock(c, 3, is_last=True)
        self.train()  # BatchNorm in eval mode from the start (see train)

    def arch(self) -> dict:
        return {"generator": self.name, "channel": self.num_channel, "num_blocks": self.num_blocks}

    def train(self, mode: bool = True):
        super().train(mode)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        down1 = self.down1(x)
        down2 = self.down2(down1)
        down3 = self.down3(down2)
        down4 = self.res_blocks(self.down4(down3))
        up1 = self.up1(down4)
        up2 = self.up2(up1 + down3)
        up3 = self.up3(up2 + down2)
        return self.up4(up3 + down1)


def identity_batchnorm(model: nn.Module) -> nn.Module:
    """Every BatchNorm2d an exact identity in eval mode: γ = 1, β = 0, mean 0, var 1 − eps."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.fill_(1)
                m.bias.zero_()
                m.running_mean.zero_()
                m.running_var.fill_(1 - m.eps)
    return model
