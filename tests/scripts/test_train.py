import json

import pytest
import torch

import pretrain
import train
from utils.checkpoint import load_checkpoint


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


def test_d_warmup_keeps_g_frozen_for_its_steps(tmp_path, photo_dir, cartoon_dir, vgg_file):
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
    assert "only 2 training steps (content network: " in caveat(first, "gen3_batch_2.pth")
    train.main(train_args(tmp_path, photo_dir, cartoon_dir, vgg_file, 3, "--w5", "0", "--model_version", "4",
                          "--pretrained", str(tmp_path / "ck" / "gen3_batch_2.pth")))
    second = load_checkpoint(tmp_path / "ck" / "gen4_batch_3.pth")
    assert second["origin"]["steps"] == 2
    assert "only 5 training steps (2 of them before this run)" in caveat(second, "gen4_batch_3.pth")
    long_before = {**second, "origin": {**second["origin"], "steps": SHORT_RUN - 3}}
    assert caveat(long_before, "x.pth") is None  # 3 + (SHORT_RUN − 3) steps in all: not a short run




def test_the_points_view_trains_on_cpu_with_the_guards_and_counts_the_faces_it_reads(tmp_path, cartoon_dir,
                                                                                    face_checkpoint):
    """--landmark_view points on a real face: the landmark reader's term and the anchor's two guards are in every
    logged step, with how many photos of the batch the reader could read (a face-less photo is dropped)."""
    import cv2
    import numpy as np
    from skimage import data

    photos = tmp_path / "photos"
    photos.mkdir()
    face = cv2.cvtColor(data.astronaut()[30:230, 125:325], cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(photos / "astronaut.png"), cv2.resize(face, (128, 128), interpolation=cv2.INTER_AREA))
    cv2.imwrite(str(photos / "grey.png"), np.full((128, 128, 3), 128, np.uint8))
    train.main([*common(tmp_path, photos, 2), "--image_size", "96", "--cartoon_dir", str(cartoon_dir),
                "--model_version", "5", "--superpixel_workers", "0", "--pretrained", str(face_checkpoint),
                "--no_flip", *[x for f in ("w1", "w2", "w3", "w4") for x in (f"--{f}", "0")],
                "--w5", "1", "--landmark_view", "points", "--w6", "1", "--w7", "1", "--w8", "1", "--w9", "1"])
    rows = [json.loads(line) for line in (tmp_path / "logs" / "gen5" / "losses.jsonl").read_text().splitlines()]
    assert len(rows) == 2
    assert all(r["faces_read"] == 1 and r["landmark"] > 0 and {"shading", "lines", "flatness"} <= set(r) for r in rows)


def test_a_bf16_run_continues_in_fp32_and_says_so(tmp_path, photo_dir, cartoon_dir, vgg_file, capsys, monkeypatch):
    """A run saved in bf16 resumes in fp32 when asked, and by itself where this CPU has no native bf16 (emulated
    bf16 is ~100× slower): the weights carry over unchanged, one line says what changed, the run goes on."""
    pretrain.main(common(tmp_path, photo_dir, 2))
    train.main(train_args(tmp_path, photo_dir, cartoon_dir, vgg_file, 2, "--precision", "bf16",
                          "--channels_last", "on"))
    saved = load_checkpoint(tmp_path / "ck" / "gen3_batch_2.pth", kind="train")
    assert saved["arithmetic"] == {"precision": "bf16", "channels_last": True}
    capsys.readouterr()
    train.main(train_args(tmp_path, photo_dir, cartoon_dir, vgg_file, 3, "--resume", "--precision", "fp32",
                          "--channels_last", "off"))
    out = capsys.readouterr().out
    assert "--precision bf16 → fp32" in out
    assert "trained in bf16 + channels_last until step 2; continuing in fp32" in out
    assert load_checkpoint(tmp_path / "ck" / "gen3_batch_3.pth", kind="train")["arithmetic"]["precision"] == "fp32"

    import utils.runtime
    monkeypatch.setattr(utils.runtime, "native_bf16_cpu", lambda: False)  # an AVX2-only CPU
    train.main(train_args(tmp_path, photo_dir, cartoon_dir, vgg_file, 4, "--checkpoint", "2"))
    out = capsys.readouterr().out
    assert "--precision bf16 → auto (this CPU has no native bf16" in out
    assert "continuing in fp32" in out
    first = load_checkpoint(tmp_path / "ck" / "gen3_batch_2.pth", kind="train")["G"]
    assert all(torch.equal(first[k], saved["G"][k]) for k in first)  # the saved step is never rewritten
    assert load_checkpoint(tmp_path / "ck" / "gen3_batch_4.pth", kind="train")["step"] == 4


def test_a_resumed_run_keeps_the_layout_auto_measured(tmp_path, photo_dir, cartoon_dir, vgg_file, capsys,
                                                      monkeypatch):
    """--channels_last auto measures which layout is faster (fp32 on a CPU without native bf16); a resume must not
    measure again and flip it (the run would stop being bit-exact): it keeps the layout its checkpoint records."""
    import utils.runtime

    monkeypatch.setattr(utils.runtime, "native_bf16_cpu", lambda: False)
    monkeypatch.setattr(utils.runtime, "faster_layout", lambda device: True)
    pretrain.main(common(tmp_path, photo_dir, 2))
    train.main(train_args(tmp_path, photo_dir, cartoon_dir, vgg_file, 2))
    assert load_checkpoint(tmp_path / "ck" / "gen3_batch_2.pth", kind="train")["arithmetic"] == {
        "precision": "fp32", "channels_last": True}
    monkeypatch.setattr(utils.runtime, "faster_layout", lambda device: False)
    capsys.readouterr()
    train.main(train_args(tmp_path, photo_dir, cartoon_dir, vgg_file, 3, "--resume"))
    assert "continuing in" not in capsys.readouterr().out
    assert load_checkpoint(tmp_path / "ck" / "gen3_batch_3.pth", kind="train")["arithmetic"]["channels_last"]
