"""The author's SimpleGenerator: its module names (so weight.pth loads as it is), the shared residual block,
the parameter count of the released model, and the forward written out by hand."""
import torch
import torch.nn.functional as F

from models.face_generator import FaceGenerator, identity_batchnorm


def test_parameter_count_and_shared_block_match_the_released_model():
    G = FaceGenerator()
    assert sum(p.numel() for p in G.parameters()) == 1_222_473  # the OpenVINO export's count, block once
    assert len(G.res_blocks) == 4 and all(G.res_blocks[k] is G.res_blocks[0] for k in range(4))
    keys = G.state_dict().keys()  # the author's names, each application listed as torch lists it
    assert {"down1.conv_layer.0.weight", "res_blocks.3.conv_layer.4.running_var", "up4.conv_layer.4.bias",
            "up4.act.0.weight"} <= set(keys)


def test_forward_by_hand_with_identity_batchnorm():
    G = identity_batchnorm(FaceGenerator(4, 2)).eval()
    x = torch.rand(1, 3, 32, 32) * 2 - 1

    def conv(seq, i, h, stride=1):
        return F.conv2d(h, seq[i].weight, seq[i].bias, stride, 1)

    def down(b, h):
        return F.relu(conv(b.conv_layer, 3, F.relu(conv(b.conv_layer, 0, h, 2))))

    def up(b, h, last=False):
        h = F.interpolate(F.relu(conv(b.conv_layer, 0, h)), scale_factor=2, mode="nearest")
        h = conv(b.conv_layer, 4, h)
        return torch.tanh(h) if last else F.relu(h)

    with torch.no_grad():
        d1 = down(G.down1, x)
        d2 = down(G.down2, d1)
        d3 = down(G.down3, d2)
        h = down(G.down4, d3)
        r = G.res_blocks[0].conv_layer
        for _ in range(2):
            h = F.relu(h + conv(r, 3, F.relu(conv(r, 0, h))))
        want = up(G.up4, up(G.up3, up(G.up2, up(G.up1, h) + d3) + d2) + d1, last=True)
        assert torch.allclose(G(x), want, atol=1e-6)


def test_train_mode_keeps_batchnorm_in_eval():
    """G.train() puts G in training mode but leaves BatchNorm in eval: the running statistics stay the ones the
    weights were made with (batch statistics of 4 photos would change every output from the first step)."""
    G = FaceGenerator(4, 1).eval()
    G.train()
    bns = [m for m in G.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert G.training and G.down1.training and bns and not any(m.training for m in bns)
