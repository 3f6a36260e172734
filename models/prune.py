"""A thinner face generator cut out of a wider one: the student of a distillation starts as a part of its teacher.

Every channel group of the FaceGenerator keeps its ``keep`` fraction of channels with the largest filters (the sum
of |weights| of the convolutions that write the group). Groups joined by the U-Net's additions share one choice:
down_k's output with the up block that adds to it (down1 + up3, down2 + up2, down3 + up1), down4's output with the
residual block's (its input is added to it). The input's 3 channels and the output's 3 stay. Every convolution
keeps its rows for its output group's channels and its columns for its input group's, BatchNorm its entries.
"""
import torch

from models.face_generator import FaceGenerator

# (convolution, BatchNorm after it, input group, output group); groups: 'rgb' (kept whole), g1–g4 shared with
# the skips, d1–d4/r/u1–u4 inside one block
LAYERS = [
    ("down1.conv_layer.0", "down1.conv_layer.1", "rgb", "d1"),
    ("down1.conv_layer.3", "down1.conv_layer.4", "d1", "g1"),
    ("down2.conv_layer.0", "down2.conv_layer.1", "g1", "d2"),
    ("down2.conv_layer.3", "down2.conv_layer.4", "d2", "g2"),
    ("down3.conv_layer.0", "down3.conv_layer.1", "g2", "d3"),
    ("down3.conv_layer.3", "down3.conv_layer.4", "d3", "g3"),
    ("down4.conv_layer.0", "down4.conv_layer.1", "g3", "d4"),
    ("down4.conv_layer.3", "down4.conv_layer.4", "d4", "g4"),
    ("res_blocks.0.conv_layer.0", "res_blocks.0.conv_layer.1", "g4", "r"),
    ("res_blocks.0.conv_layer.3", "res_blocks.0.conv_layer.4", "r", "g4"),
    ("up1.conv_layer.0", "up1.conv_layer.1", "g4", "u1"),
    ("up1.conv_layer.4", "up1.act.0", "u1", "g3"),
    ("up2.conv_layer.0", "up2.conv_layer.1", "g3", "u2"),
    ("up2.conv_layer.4", "up2.act.0", "u2", "g2"),
    ("up3.conv_layer.0", "up3.conv_layer.1", "g2", "u3"),
    ("up3.conv_layer.4", "up3.act.0", "u3", "g1"),
    ("up4.conv_layer.0", "up4.conv_layer.1", "g1", "u4"),
    ("up4.conv_layer.4", "up4.act.0", "u4", "rgb"),
]


def kept_channels(state: dict, keep: float) -> dict[str, torch.Tensor]:
    """{group: sorted channel indices kept}: the largest ``keep`` share by the |weights| that write them."""
    scores: dict[str, torch.Tensor] = {}
    for conv, _, _, out in LAYERS:
        if out != "rgb":
            norms = state[f"{conv}.weight"].abs().flatten(1).sum(1)
            scores[out] = scores.get(out, 0) + norms
    return {g: s.topk(max(1, round(keep * len(s)))).indices.sort().values for g, s in scores.items()}


def thinner(teacher: FaceGenerator, channel: int) -> FaceGenerator:
    """A FaceGenerator of ``channel`` base width (and the teacher's number of residual applications) holding the
    teacher's largest channels."""
    state = teacher.state_dict()
    kept = kept_channels(state, channel / teacher.num_channel)
    rgb = torch.arange(3)
    student = FaceGenerator(channel, teacher.num_blocks)
    new = student.state_dict()
    for conv, bn, into, out in LAYERS:
        rows, cols = kept.get(out, rgb), kept.get(into, rgb)
        new[f"{conv}.weight"] = state[f"{conv}.weight"][rows][:, cols].clone()
        new[f"{conv}.bias"] = state[f"{conv}.bias"][rows].clone()
        for part in ("weight", "bias", "running_mean", "running_var"):
            new[f"{bn}.{part}"] = state[f"{bn}.{part}"][rows].clone()
    student.load_state_dict(new)
    return student
