"""train_step on tiny tensors: which parts it updates, which terms it computes and with what weights, how a
non-finite loss is skipped, and that precision and memory layout do not change its numbers."""
import pytest
import torch

from losses.superpixel import Superpixels
from losses.weights import LossWeights
from models.discriminator import PatchDiscriminator
from models.generator import Generator
from models.vgg import VGGFeatures
from training.steps import Nets, train_step
from utils.runtime import Precision


def make_nets(channel=32):
    G, Dt, Ds = Generator(channel, 1), PatchDiscriminator(1), PatchDiscriminator(3)
    return Nets(G, Dt, Ds, VGGFeatures(), torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.99)),
                torch.optim.Adam([*Dt.parameters(), *Ds.parameters()], 2e-4, betas=(0.5, 0.99)))



def snapshot(module):
    return [p.detach().clone() for p in module.parameters()]



def changed(before, module):
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))



def test_cpu_train_step_updates_g_and_both_ds_with_finite_losses():
    nets = make_nets()
    before = {name: snapshot(getattr(nets, name)) for name in ("G", "D_texture", "D_surface")}
    photo, cartoon = torch.rand(2, 3, 64, 64) * 2 - 1, torch.rand(2, 3, 64, 64) * 2 - 1
    losses = train_step(photo, cartoon, nets, LossWeights(), Precision(torch.device("cpu")), Superpixels(0))
    for name in ("G", "D_texture", "D_surface"):
        assert changed(before[name], getattr(nets, name)), name
    terms = ("tv", "surface", "texture", "content", "structure")
    for key in (*terms, *(f"{t}_w" for t in terms), "g_total", "d_texture", "d_surface", "d_total"):
        assert torch.isfinite(torch.tensor(losses[key])), key
    assert losses["tv_w"] == pytest.approx(1e4 * losses["tv"], rel=1e-5)
    assert losses["g_total"] == pytest.approx(sum(losses[f"{t}_w"] for t in terms), rel=1e-5)
    assert "nonfinite" not in losses



def test_zero_structure_weight_skips_the_superpixel():
    class Fail:
        def submit(self, _):
            raise AssertionError("superpixel computed although --w4 is 0")

    out = train_step(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32), make_nets(8), LossWeights(structure=0.0),
                     Precision(torch.device("cpu")), Fail())
    assert "structure" not in out



def test_nonfinite_photo_skips_every_update():
    nets = make_nets(8)
    before = {name: snapshot(getattr(nets, name)) for name in ("G", "D_texture", "D_surface")}
    photo = torch.rand(1, 3, 32, 32)
    photo[0, 0, 0, 0] = float("inf")
    out = train_step(photo, torch.rand(1, 3, 32, 32), nets, LossWeights(structure=0.0), Precision(torch.device("cpu")),
                     Superpixels(0))
    assert "nonfinite" in out
    for name in ("G", "D_texture", "D_surface"):
        assert not changed(before[name], getattr(nets, name)), name



def test_nonfinite_discriminator_loss_skips_the_d_update():
    nets = make_nets(8)
    cartoon = torch.rand(1, 3, 32, 32)
    cartoon[0, 1, 3, 3] = float("nan")  # reaches only the D step
    before = {name: snapshot(getattr(nets, name)) for name in ("D_texture", "D_surface")}
    out = train_step(torch.rand(1, 3, 32, 32), cartoon, nets, LossWeights(structure=0.0),
                     Precision(torch.device("cpu")), Superpixels(0))
    assert out["nonfinite"].startswith("d_")
    for name in ("D_texture", "D_surface"):
        assert not changed(before[name], getattr(nets, name)), name



def test_landmark_term_comes_from_the_photo_points_and_its_weight():
    nets, photo = make_nets(8), torch.rand(2, 3, 32, 32) * 2 - 1
    points = torch.full((2, 68, 2), 16.0)
    points[1] = float("nan")  # no face in the second photo
    out = train_step(photo, photo, nets, LossWeights(structure=0.0, landmark=2.0), Precision(torch.device("cpu")),
                     Superpixels(0), points=points)
    assert out["landmark"] > 0 and out["landmark_w"] == pytest.approx(2 * out["landmark"])
    out = train_step(photo, photo, nets, LossWeights(structure=0.0, landmark=0.0), Precision(torch.device("cpu")),
                     Superpixels(0), points=points)
    assert "landmark" not in out



def test_bf16_autocast_and_fp32_steps_give_close_losses_on_a_fixed_batch():
    photo, cartoon = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    out = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        nets = make_nets(8)
        torch.manual_seed(1)  # same colour-shift draws
        out[precision] = train_step(photo, cartoon, nets, LossWeights(), Precision(torch.device("cpu"), precision),
                                    Superpixels(0))
    for key in ("tv", "surface", "texture", "content", "structure", "g_total", "d_total"):
        assert out["bf16"][key] == pytest.approx(out["fp32"][key], rel=0.05, abs=1e-6), key



def test_channels_last_step_matches_contiguous():
    photo, cartoon = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    out = {}
    for fmt in (torch.contiguous_format, torch.channels_last):
        torch.manual_seed(0)
        nets = make_nets(8)
        for m in (nets.G, nets.D_texture, nets.D_surface, nets.vgg):
            m.to(memory_format=fmt)
        torch.manual_seed(1)
        out[fmt] = train_step(photo.contiguous(memory_format=fmt), cartoon.contiguous(memory_format=fmt), nets,
                              LossWeights(), Precision(torch.device("cpu")), Superpixels(0))
    for key in ("g_total", "d_total", "content", "structure"):
        assert out[torch.channels_last][key] == pytest.approx(out[torch.contiguous_format][key], rel=1e-4), key



def test_batched_vgg_targets_give_the_terms_of_separate_forwards():
    """Photo and superpixel target share one VGG call in train_step; the terms equal two separate calls."""
    from losses.content import content_loss
    from losses.structure import structure_loss
    from losses.superpixel import Pending
    from models.conventions import generate

    nets = make_nets(8)
    photo, target = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1

    class Fixed:
        def submit(self, _):
            return Pending(lambda: target)

    with torch.no_grad():
        fake = generate(nets.G, photo, training=True)
        want_content = content_loss(nets.vgg(photo), nets.vgg(fake)).item()
        want_structure = structure_loss(nets.vgg(target), nets.vgg(fake)).item()
    out = train_step(photo, photo, nets, LossWeights(), Precision(torch.device("cpu")), Fixed())
    assert out["content"] == pytest.approx(want_content, rel=1e-5)
    assert out["structure"] == pytest.approx(want_structure, rel=1e-5)



def test_the_anchor_term_compares_g_with_the_frozen_start_not_with_itself():
    """raw['anchor'] = mean |G(x) − G0(x)| with G0 the untouched start (computed here independently, before the
    step); it is not 0 once G has moved."""
    from losses.anchor import style_anchor
    from models.conventions import generate

    nets = make_nets(8)
    G0 = Generator(8, 1)
    G0.load_state_dict(nets.G.state_dict())
    with torch.no_grad():
        for p in nets.G.parameters():  # G has moved away from its start
            p.add_(0.05 * torch.randn_like(p))
    nets.anchor = G0
    photo = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        expected = style_anchor(generate(nets.G, photo, training=True), generate(G0, photo, training=True))
    weights = LossWeights(tv=0, surface=0, texture=0, content=0, structure=0, landmark=0, anchor=1)
    out = train_step(photo, photo, nets, weights, Precision(torch.device("cpu")), Superpixels(0))
    assert expected > 0.01
    assert out["anchor"] == pytest.approx(float(expected), rel=1e-5) and out["anchor_w"] == out["anchor"]



def test_the_face_settings_reach_the_terms():
    """--landmark_view surface, --landmark_threshold τ and --anchor_free f change the landmark and anchor terms as
    the losses say."""
    from losses.anchor import anchor_weight, style_anchor
    from losses.landmark import EdgeView, heatmaps, landmark_term
    from models.conventions import generate
    from training.steps import FaceSettings

    nets = make_nets(8)
    nets.landmark = EdgeView(0.015, surface_view=True, threshold=0.05)
    G0 = Generator(8, 1)
    with torch.no_grad():
        for p in nets.G.parameters():
            p.add_(0.05 * torch.randn_like(p))
    nets.anchor = G0
    photo = torch.rand(2, 3, 32, 32) * 2 - 1
    points = torch.full((2, 68, 2), 16.0)
    weights = LossWeights(tv=0, surface=0, texture=0, content=0, structure=0, landmark=1, anchor=1)
    with torch.no_grad():
        fake, held = generate(nets.G, photo, training=True), generate(G0, photo, training=True)
        free = anchor_weight(heatmaps(points, 32, 0.015 * 32), 0.8)
        want = {"landmark": landmark_term(fake, photo, points, 0.015, True, threshold=0.05).item(),
                "anchor": style_anchor(fake, held, free).item()}
        every_edge = landmark_term(fake, photo, points, 0.015, True).item()
    out = train_step(photo, photo, nets, weights, Precision(torch.device("cpu")), Superpixels(0), points,
                     FaceSettings(anchor_free=0.8))
    assert out["landmark"] == pytest.approx(want["landmark"], rel=1e-5)
    assert out["landmark"] < 0.99 * every_edge  # the threshold reached the term
    assert out["anchor"] == pytest.approx(want["anchor"], rel=1e-5)


def test_the_points_view_and_the_guards_reach_the_step():
    """--landmark_view points: raw['landmark'] is the reader's term on the photos it can read (computed here
    independently, before the step), faces_read counts them; --w7, --w8 and --w9 add the three guards against G0."""
    from losses.anchor import line_guard, shading_guard
    from losses.flatness import flatness_residue
    from losses.landmark_points import PointsView, points_term
    from models.conventions import generate
    from models.released.landmark_reader import load_landmark_reader
    from training.steps import FaceSettings

    nets = make_nets(8)
    G0 = Generator(8, 1)
    with torch.no_grad():
        for p in nets.G.parameters():
            p.add_(0.05 * torch.randn_like(p))
    nets.anchor, nets.landmark = G0, PointsView(load_landmark_reader())
    photo = torch.rand(2, 3, 64, 64) * 2 - 1
    t = torch.linspace(0, 1, 68)
    points = torch.stack([torch.stack([10 + 40 * t, 12 + 40 * t.flip(0) ** 2], -1), torch.full((68, 2), float("nan"))])
    weights = LossWeights(tv=0, surface=0, texture=0, content=0, structure=0, landmark=1, anchor=0, shading=1,
                          lines=2, flatness=3)
    with torch.no_grad():
        fake, held = generate(nets.G, photo, training=True), generate(G0, photo, training=True)
        want, read = points_term(nets.landmark.reader, fake, photo, points)
        guards = {"shading": shading_guard(fake, held).item(), "lines": line_guard(fake, held).item(),
                  "flatness": flatness_residue(fake, held).item()}
    out = train_step(photo, photo, nets, weights, Precision(torch.device("cpu")), Superpixels(0), points,
                     FaceSettings())
    assert read == out["faces_read"] == 1 and "anchor" not in out
    assert out["landmark"] == pytest.approx(want.item(), rel=1e-5) and out["landmark"] > 0
    assert out["shading"] == pytest.approx(guards["shading"], rel=1e-5)
    assert out["lines_w"] == pytest.approx(2 * guards["lines"], rel=1e-5)
    assert out["flatness_w"] == pytest.approx(3 * guards["flatness"], rel=1e-5)


def test_d_warmup_step_trains_the_discriminators_only():
    from training.steps import d_warmup_step

    nets = make_nets(8)
    before = {name: snapshot(getattr(nets, name)) for name in ("G", "D_texture", "D_surface")}
    out = d_warmup_step(torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1, nets,
                        Precision(torch.device("cpu")))
    assert set(out) == {"d_texture", "d_surface", "d_total"}
    assert not changed(before["G"], nets.G)
    assert changed(before["D_texture"], nets.D_texture) and changed(before["D_surface"], nets.D_surface)
