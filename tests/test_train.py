import json

import pytest
import torch

import pretrain
import train
from losses.superpixel import Superpixels
from losses.weights import LossWeights
from models.discriminator import PatchDiscriminator
from models.generator import Generator
from models.vgg import VGGFeatures
from training.steps import Nets, train_step
from utils.checkpoint import load_checkpoint
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


def common(root, photo_dir, total):
    return ["--photo_dir", str(photo_dir), "--total_iter", str(total), "--batch_size", "2", "--image_size", "32",
            "--save_dir", str(root / "ck"), "--log_dir", str(root / "logs"), "--workers", "0", "--device", "cpu",
            "--save_every", "2", "--sample_every", "2", "--channel", "8", "--num_blocks", "1"]


def train_args(root, photo_dir, cartoon_dir, vgg_file, total, *extra):
    return [*common(root, photo_dir, total), "--cartoon_dir", str(cartoon_dir), "--vgg_weights", str(vgg_file),
            "--model_version", "3", "--superpixel_workers", "0", *extra]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_resume_reproduces_the_unbroken_run(tmp_path, photo_dir, cartoon_dir, vgg_file, precision):
    for root in (tmp_path / "a", tmp_path / "b"):
        pretrain.main(common(root, photo_dir, 2))
    flags = ["--precision", precision, "--channels_last", "on" if precision == "bf16" else "off"]
    train.main(train_args(tmp_path / "a", photo_dir, cartoon_dir, vgg_file, 4, *flags))
    train.main(train_args(tmp_path / "b", photo_dir, cartoon_dir, vgg_file, 2, *flags))
    train.main(train_args(tmp_path / "b", photo_dir, cartoon_dir, vgg_file, 4, "--checkpoint", "2", *flags))
    a = load_checkpoint(tmp_path / "a" / "ck" / "gen3_batch_4.pth", kind="train")
    b = load_checkpoint(tmp_path / "b" / "ck" / "gen3_batch_4.pth", kind="train")
    for part in ("G", "D_texture", "D_surface"):
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), (part, key)
    assert a["opt_D"]["state"][0]["step"] == b["opt_D"]["state"][0]["step"] == 4
    samples = tmp_path / "a" / "logs" / "gen3" / "samples"
    assert sorted(p.name for p in samples.iterdir()) == ["0000002.jpg", "0000004.jpg"]


def test_missing_pretrained_file_is_one_line_error(tmp_path, photo_dir, cartoon_dir, vgg_file, capsys):
    with pytest.raises(SystemExit) as e:
        train.main(train_args(tmp_path, photo_dir, cartoon_dir, vgg_file, 2, "--pretrained", str(tmp_path / "x.pth")))
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2
    names = ", ".join(__import__("models.released.pretrained", fromlist=["REGISTRY"]).REGISTRY)
    assert err.startswith(f"error: {tmp_path / 'x.pth'}: no such file, and not a model name ({names})")
    assert "\n" not in err


def test_no_pretrained_generator_at_all(tmp_path, photo_dir, cartoon_dir, vgg_file, capsys):
    with pytest.raises(SystemExit):
        train.main(train_args(tmp_path, photo_dir, cartoon_dir, vgg_file, 2))
    assert "no pretrained generator in" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--w0", "--w3", "--w5"])
def test_negative_weight_is_refused(tmp_path, photo_dir, cartoon_dir, vgg_file, capsys, flag):
    with pytest.raises(SystemExit) as e:
        train.main(train_args(tmp_path, photo_dir, cartoon_dir, vgg_file, 2, flag, "-1"))
    assert e.value.code == 2 and f"{flag} -1.0: loss weights must not be negative" in capsys.readouterr().err


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


def test_superpixel_process_pool_gives_the_same_steps_checkpoints_and_weights(tmp_path, photo_dir, cartoon_dir,
                                                                               vgg_file):
    for root in (tmp_path / "serial", tmp_path / "pool"):
        pretrain.main(common(root, photo_dir, 1))
    train.main(train_args(tmp_path / "serial", photo_dir, cartoon_dir, vgg_file, 4, "--w5", "0"))
    train.main(train_args(tmp_path / "pool", photo_dir, cartoon_dir, vgg_file, 4, "--w5", "0",
                          "--superpixel_workers", "2"))
    names = [sorted(p.name for p in (tmp_path / r / "ck").glob("gen3_*")) for r in ("serial", "pool")]
    assert names[0] == names[1] == ["gen3_batch_2.pth", "gen3_batch_4.pth"]
    a = load_checkpoint(tmp_path / "serial" / "ck" / "gen3_batch_4.pth")["G"]
    b = load_checkpoint(tmp_path / "pool" / "ck" / "gen3_batch_4.pth")["G"]
    assert all(torch.equal(a[k], b[k]) for k in a)  # started early, not stale: the same targets


def test_says_which_pretrained_generator_it_picked_and_warns_of_a_newer_one(tmp_path, photo_dir, cartoon_dir,
                                                                           vgg_file, capsys):
    import os
    pretrain.main(common(tmp_path, photo_dir, 4))  # pre_gen_batch_2 and _4
    newer = tmp_path / "ck" / "pre_gen_batch_2.pth"
    os.utime(newer, (newer.stat().st_atime, newer.stat().st_mtime + 60))  # written after _4
    train.main(train_args(tmp_path, photo_dir, cartoon_dir, vgg_file, 1, "--w5", "0"))
    out = capsys.readouterr().out
    assert f"generator initialised from {tmp_path / 'ck' / 'pre_gen_batch_4.pth'} (highest pretraining step" in out
    assert "warning: pre_gen_batch_2.pth was written after pre_gen_batch_4.pth" in out


def test_the_checkpoint_records_which_vgg_was_used(tmp_path, photo_dir, cartoon_dir, capsys):
    pretrain.main(common(tmp_path, photo_dir, 1))
    train.main([*common(tmp_path, photo_dir, 2), "--cartoon_dir", str(cartoon_dir), "--vgg_weights", "random",
                "--model_version", "3", "--superpixel_workers", "0", "--w5", "0"])
    assert load_checkpoint(tmp_path / "ck" / "gen3_batch_2.pth")["vgg"] == "random-lsuv-seed0"
    assert "warning: --vgg_weights random" in capsys.readouterr().out


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


def test_d_warmup_trains_the_discriminators_only(tmp_path, photo_dir, cartoon_dir, vgg_file):
    from training.steps import d_warmup_step

    nets = make_nets(8)
    before = {name: snapshot(getattr(nets, name)) for name in ("G", "D_texture", "D_surface")}
    out = d_warmup_step(torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1, nets,
                        Precision(torch.device("cpu")))
    assert set(out) == {"d_texture", "d_surface", "d_total"}
    assert not changed(before["G"], nets.G)
    assert changed(before["D_texture"], nets.D_texture) and changed(before["D_surface"], nets.D_surface)

    pretrain.main(common(tmp_path, photo_dir, 1))
    train.main(train_args(tmp_path, photo_dir, cartoon_dir, vgg_file, 2, "--w5", "0", "--d_warmup", "1",
                          "--save_every", "1"))
    start = load_checkpoint(tmp_path / "ck" / "pre_gen_batch_1.pth")["G"]
    one, two = (load_checkpoint(tmp_path / "ck" / f"gen3_batch_{n}.pth")["G"] for n in (1, 2))
    assert all(torch.equal(start[k], one[k]) for k in start)  # step 1: G frozen
    assert not all(torch.equal(one[k], two[k]) for k in one)  # step 2: G trains


def test_fine_tuning_the_face_model_trains_and_resumes_exactly(tmp_path, photo_dir, cartoon_dir, vgg_file,
                                                                face_checkpoint):
    """--pretrained a face-model checkpoint: the architecture comes from the file; BatchNorm stays frozen."""
    start = load_checkpoint(face_checkpoint)["G"]
    for root, steps in ((tmp_path / "a", [4]), (tmp_path / "b", [2, 4])):
        for total in steps:
            extra = ["--checkpoint", "2"] if total == 4 and len(steps) == 2 else []
            train.main(train_args(root, photo_dir, cartoon_dir, vgg_file, total, "--pretrained", str(face_checkpoint),
                                  "--precision", "fp32", "--channels_last", "off", *extra))
    a = load_checkpoint(tmp_path / "a" / "ck" / "gen3_batch_4.pth", kind="train")
    b = load_checkpoint(tmp_path / "b" / "ck" / "gen3_batch_4.pth", kind="train")
    assert a["arch"] == b["arch"] == {"generator": "facial", "channel": 4, "num_blocks": 2}
    for part in ("G", "D_texture", "D_surface"):
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), (part, key)
    assert not torch.equal(a["G"]["down1.conv_layer.0.weight"], start["down1.conv_layer.0.weight"])  # it trained
    for key in ("down1.conv_layer.1.running_mean", "down1.conv_layer.1.running_var"):
        assert torch.equal(a["G"][key], start[key])  # BatchNorm statistics frozen (identity for the export)


def test_an_image_size_the_face_model_cannot_take_is_one_line(tmp_path, photo_dir, cartoon_dir, vgg_file,
                                                              face_checkpoint, capsys):
    with pytest.raises(SystemExit) as e:
        train.main(train_args(tmp_path, photo_dir, cartoon_dir, vgg_file, 2, "--pretrained", str(face_checkpoint),
                              "--image_size", "36"))
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and "--image_size 36: the facial generator needs a multiple of 16" in err


def test_anchor_only_fine_tune_builds_no_vgg_and_is_captioned_as_a_cartoon_model(tmp_path, photo_dir, cartoon_dir,
                                                                                 face_checkpoint, capsys):
    """--w3 0 --w4 0: no term uses VGG19, so none is built (an ImageNet download would fail here). A fine-tune of
    a released model is a cartoon model however short: its checkpoint records where it started."""
    from inference.cartoonise import caveat

    train.main([*common(tmp_path, photo_dir, 2), "--cartoon_dir", str(cartoon_dir), "--vgg_weights", "imagenet",
                "--model_version", "3", "--superpixel_workers", "0", "--pretrained", str(face_checkpoint),
                *[x for f in ("w1", "w2", "w3", "w4", "w5") for x in (f"--{f}", "0")], "--w6", "1"])
    out = capsys.readouterr()
    assert "VGG19" not in out.out + out.err and "content" not in out.out + out.err
    ckpt = load_checkpoint(tmp_path / "ck" / "gen3_batch_2.pth", kind="train")
    assert ckpt["vgg"] == "none" and ckpt["origin"] == {"model": str(face_checkpoint), "kind": "released",
                                                        "steps": None}
    assert caveat(ckpt, "gen3_batch_2.pth") is None
    rows = [json.loads(line) for line in (tmp_path / "logs" / "gen3" / "losses.jsonl").read_text().splitlines()]
    assert all("anchor" in r for r in rows) and rows[-1]["anchor"] > 0  # --w6 1 is attached, and G has moved


def test_the_short_run_caption_counts_the_steps_of_the_model_it_started_from(tmp_path, photo_dir, cartoon_dir,
                                                                            vgg_file):
    from inference.cartoonise import SHORT_RUN, caveat

    pretrain.main(common(tmp_path, photo_dir, 1))
    train.main(train_args(tmp_path, photo_dir, cartoon_dir, vgg_file, 2, "--w5", "0"))
    first = load_checkpoint(tmp_path / "ck" / "gen3_batch_2.pth")
    assert first["origin"]["kind"] == "pretrain" and first["origin"]["steps"] == 0
    assert "only 2 training steps (VGG19: " in caveat(first, "gen3_batch_2.pth")
    train.main(train_args(tmp_path, photo_dir, cartoon_dir, vgg_file, 3, "--w5", "0", "--model_version", "4",
                          "--pretrained", str(tmp_path / "ck" / "gen3_batch_2.pth")))
    second = load_checkpoint(tmp_path / "ck" / "gen4_batch_3.pth")
    assert second["origin"]["steps"] == 2
    assert "only 5 training steps (2 of them before this run)" in caveat(second, "gen4_batch_3.pth")
    long_before = {**second, "origin": {**second["origin"], "steps": SHORT_RUN - 3}}
    assert caveat(long_before, "x.pth") is None  # 3 + (SHORT_RUN − 3) steps in all: not a short run


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


def test_training_does_not_reach_into_inference_to_rebuild_a_generator():
    """Rebuilding G from a checkpoint is models.zoo's (generator_from), not the cartooniser's."""
    import subprocess
    import sys
    code = ("import sys, training.start, training.run, training.steps\n"
            "assert 'inference.cartoonise' not in sys.modules, 'training imports the cartooniser'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-500:]


def test_the_face_settings_reach_the_terms():
    """--landmark_view surface, --landmark_threshold τ and --anchor_free f change the landmark and anchor terms as
    the losses say."""
    from losses.anchor import anchor_weight, style_anchor
    from losses.landmark import heatmaps, landmark_term
    from models.conventions import generate
    from training.steps import FaceSettings

    nets = make_nets(8)
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
        want = {"landmark": landmark_term(fake, photo, points, 0.015, "surface", threshold=0.05).item(),
                "anchor": style_anchor(fake, held, free).item()}
        every_edge = landmark_term(fake, photo, points, 0.015, "surface").item()
    out = train_step(photo, photo, nets, weights, Precision(torch.device("cpu")), Superpixels(0), points,
                     FaceSettings(view="surface", anchor_free=0.8, threshold=0.05))
    assert out["landmark"] == pytest.approx(want["landmark"], rel=1e-5)
    assert out["landmark"] < 0.99 * every_edge  # the threshold reached the term
    assert out["anchor"] == pytest.approx(want["anchor"], rel=1e-5)
