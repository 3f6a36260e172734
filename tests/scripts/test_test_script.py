"""test.py: outputs, any-size inputs, folders, videos, and its error paths."""
import json

import cv2
import numpy as np
import pytest

import test as test_script
from utils.image_io import read_image


def run(args):
    test_script.main([str(a) for a in args])


@pytest.fixture
def photos(tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    rng = np.random.default_rng(0)
    cv2.imwrite(str(d / "a.png"), rng.integers(0, 256, (48, 48, 3), dtype=np.uint8))
    cv2.imwrite(str(d / "b_odd.png"), rng.integers(0, 256, (37, 53, 3), dtype=np.uint8))  # not multiples of 4
    (d / "c_broken.jpg").write_text("not an image")
    return d


def test_model_version_and_batch_name_the_checkpoint(trained_checkpoint, photos, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run(["--model_version", 7, "--batch", 2, "--save_dir", trained_checkpoint.parent, "--photo_dir", photos,
         "--device", "cpu"])
    out = tmp_path / "results" / "7_2"
    assert sorted(p.name for p in (out / "side_by_side").iterdir()) == ["a.jpg", "b_odd.jpg"]
    assert read_image(out / "side_by_side" / "a.jpg").shape == (48, 96, 3)  # photo | cartoon
    assert read_image(out / "cartoon" / "b_odd.png").shape == (37, 53, 3)  # back at its own size
    assert (out / "sheet.jpg").is_file()
    printed = capsys.readouterr().out
    assert "c_broken.jpg: not a decodable image" in printed  # skipped and listed
    assert f"side-by-side sheet: {out.relative_to(tmp_path) / 'sheet.jpg'}" in printed


def test_single_image_input_and_size_cap(trained_checkpoint, tmp_path, monkeypatch):
    """--size caps the long side G sees (130 -> 64, padded to 64×44), and the cartoon comes back at 90×130."""
    import inference.cartoonise as cartoonise
    seen, real = [], cartoonise.generate
    monkeypatch.setattr(cartoonise, "generate", lambda G, x: seen.append(tuple(x.shape[-2:])) or real(G, x))
    image = np.random.default_rng(1).integers(0, 256, (90, 130, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "one.png"), image)
    run(["--checkpoint", trained_checkpoint, "--input", tmp_path / "one.png", "--out", tmp_path / "o", "--size", 64,
         "--device", "cpu"])
    assert seen == [(44, 64)]  # 90×130 -> 44×64 (long side 64), already multiples of 4
    assert read_image(tmp_path / "o" / "cartoon" / "one.png").shape == (90, 130, 3)


def read_frames(path) -> list[np.ndarray]:
    cap, frames = cv2.VideoCapture(str(path)), []
    while (got := cap.read())[0]:
        frames.append(cv2.cvtColor(got[1], cv2.COLOR_BGR2RGB))
    return frames


def test_video_round_trip_keeps_frames_size_and_fps_and_the_frames_are_cartoons(trained_checkpoint, tmp_path):
    from inference.cartoonise import Cartooniser, load_generator
    from utils.runtime import Precision

    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 12.0, (64, 48))
    rng = np.random.default_rng(0)
    for _ in range(10):  # smooth frames: the codec keeps them close, so a copy would show
        writer.write(cv2.resize(rng.integers(0, 256, (4, 6, 3), dtype=np.uint8), (64, 48)))
    writer.release()
    run(["--checkpoint", trained_checkpoint, "--input", path, "--out", tmp_path / "v", "--device", "cpu",
         "--batch_size", 4, "--precision", "fp32"])
    out = tmp_path / "v" / "clip_cartoon.mp4"
    cap = cv2.VideoCapture(str(out))
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (64, 48)
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(12.0)
    frames_in, frames_out = read_frames(path), read_frames(out)
    assert len(frames_out) == len(frames_in) == 10
    want = Cartooniser(load_generator(trained_checkpoint, "cpu"), "cpu", precision=Precision("cpu", "fp32"))(frames_in)
    for got, photo, cartoon in zip(frames_out, frames_in, want):
        to_cartoon = np.abs(got.astype(float) - cartoon).mean()
        assert to_cartoon < 0.5 * np.abs(got.astype(float) - photo).mean()  # each frame is its cartoon (± codec)


def test_missing_checkpoint_names_expected_path_and_lists_existing(trained_checkpoint, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        run(["--model_version", 49, "--batch", 500, "--save_dir", trained_checkpoint.parent])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and "\n" not in err
    assert "gen49_batch_500.pth: checkpoint not found" in err and "gen7_batch_2.pth" in err


@pytest.mark.parametrize("main", [test_script.main, __import__("inference.export", fromlist=["main"]).main])
def test_a_checkpoint_must_be_named(main, capsys):
    with pytest.raises(SystemExit) as e:
        main(["--onnx", "x.onnx"] if main is not test_script.main else [])
    assert e.value.code == 2
    assert "give --model whitebox (or a checkpoint path), or --batch N (a training step)" in capsys.readouterr().err


@pytest.mark.parametrize("args,message", [
    (["--input", "nowhere.png"], "nowhere.png: no such file or folder"),
    (["--input", "notes.txt"], "notes.txt: not an image or video extension"),
])
def test_bad_inputs(trained_checkpoint, tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(SystemExit) as e:
        run(["--checkpoint", trained_checkpoint, "--device", "cpu", *args])
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_only_unreadable_images_is_an_error(trained_checkpoint, tmp_path, capsys):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.jpg").write_bytes(b"")
    with pytest.raises(SystemExit):
        run(["--checkpoint", trained_checkpoint, "--input", tmp_path / "bad", "--out", tmp_path / "o"])
    assert "no readable images" in capsys.readouterr().err


def test_align_without_face_passes_photo_whole_and_reports(trained_checkpoint, photos, tmp_path, capsys):
    run(["--checkpoint", trained_checkpoint, "--input", photos / "a.png", "--out", tmp_path / "o", "--align",
         "--device", "cpu"])
    assert "in 0 of 1 image(s) (faces per image: 0); no face found in 1" in capsys.readouterr().out
    assert read_image(tmp_path / "o" / "cartoon" / "a.png").shape == (48, 48, 3)


def test_eval_writes_face_metrics_and_says_why_fid_is_skipped(trained_checkpoint, tmp_path, capsys):
    from skimage import data
    cv2.imwrite(str(tmp_path / "face.png"), cv2.cvtColor(data.astronaut()[:300, 100:400], cv2.COLOR_RGB2BGR))
    run(["--checkpoint", trained_checkpoint, "--input", tmp_path / "face.png", "--out", tmp_path / "o", "--eval",
         "--inception_weights", tmp_path / "missing.pth", "--device", "cpu"])
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["face"]["faces"] == 1 and 0 <= metrics["face"]["landmark_nme"]
    assert "missing.pth: Inception-v3 weights file not found" in metrics["fid_kid_skipped"]


def test_align_and_strength_runs_get_their_own_folders_and_counts_read_right(trained_checkpoint, photos, tmp_path,
                                                                            capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = ["--model", trained_checkpoint, "--input", photos / "a.png", "--device", "cpu"]
    run(base)
    run([*base, "--align"])
    run([*base, "--strength", "0.5"])
    out = capsys.readouterr().out
    stem = trained_checkpoint.stem
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == [stem, f"{stem}_align", f"{stem}_s0.5"]
    assert "1 cartoon in" in out and "1 cartoons" not in out and "\n\n" not in out


def test_a_short_training_run_is_captioned_as_a_pipeline_check(trained_checkpoint, photos, tmp_path, capsys):
    run(["--model", trained_checkpoint, "--input", photos / "a.png", "--out", tmp_path / "o", "--device", "cpu"])
    assert "only 2 training steps" in capsys.readouterr().out
    sheet = read_image(tmp_path / "o" / "sheet.jpg")
    assert (sheet[:28] < 100).any() and sheet.shape[0] == 28 + 256 + 8  # a caption strip above the sheet


@pytest.mark.parametrize("strength", ["-0.1", "1.5"])
def test_strength_out_of_range(strength, capsys):
    with pytest.raises(SystemExit) as e:
        run(["--model", "x.pth", "--strength", strength])
    assert e.value.code == 2 and f"--strength {float(strength)}: must be between 0 and 1" in capsys.readouterr().err


@pytest.fixture(params=["trained_checkpoint", "face_checkpoint"])
def any_generator(request):
    """A checkpoint of each generator: White-box's U-Net (trained 2 steps) and the face model (an IR, converted)."""
    return request.getfixturevalue(request.param)


def test_both_generators_through_align_strength_and_odd_sizes(any_generator, tmp_path, capsys):
    from skimage import data
    photo = data.astronaut()[:330, 60:390]
    cv2.imwrite(str(tmp_path / "face.png"), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    odd = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)  # not a multiple of 4 or 16
    cv2.imwrite(str(tmp_path / "odd.png"), odd)
    base = ["--model", any_generator, "--device", "cpu", "--size", 200]
    run([*base, "--input", tmp_path / "face.png", "--out", tmp_path / "a", "--align", "--strength", 0.5])
    assert "1 face(s) cartoonised from aligned crops in 1 of 1 image(s)" in capsys.readouterr().out
    cartoon = read_image(tmp_path / "a" / "cartoon" / "face.png")
    assert cartoon.shape == photo.shape
    run([*base, "--input", tmp_path / "face.png", "--out", tmp_path / "full", "--align"])
    full = read_image(tmp_path / "full" / "cartoon" / "face.png").astype(float)
    # strength 0.5 is the midpoint of photo and full cartoon (±1 level of rounding)
    assert np.abs(cartoon - (photo + full) / 2).max() <= 1.0 and np.abs(full - photo).mean() > 5
    run([*base, "--input", tmp_path / "odd.png", "--out", tmp_path / "o"])
    assert read_image(tmp_path / "o" / "cartoon" / "odd.png").shape == (37, 53, 3)


def test_both_generators_cartoonise_a_video(any_generator, tmp_path):
    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (80, 48))
    rng = np.random.default_rng(0)
    frames_in = [cv2.resize(rng.integers(0, 256, (6, 10, 3), dtype=np.uint8), (80, 48)) for _ in range(5)]
    for frame in frames_in:
        writer.write(frame)
    writer.release()
    run(["--model", any_generator, "--input", path, "--out", tmp_path / "v", "--device", "cpu", "--batch_size", 2])
    cap = cv2.VideoCapture(str(tmp_path / "v" / "clip_cartoon.mp4"))
    frames = []
    while (got := cap.read())[0]:
        frames.append(got[1].astype(float))
    assert len(frames) == 5 and frames[0].shape == (48, 80, 3)
    assert np.abs(frames[0] - frames_in[0]).mean() > 5  # cartoons, not the frames copied through


def test_inputs_sharing_a_stem_each_get_their_own_output(trained_checkpoint, tmp_path, capsys):
    """A phone's export (IMG_1.jpg beside IMG_1.png) and astronaut.jpg beside astronaut.gif: four inputs, four
    cartoons with four names, the log counts four; a second run into the same folder says what it replaces."""
    d = tmp_path / "phone"
    d.mkdir()
    rng = np.random.default_rng(3)
    images = {name: rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
              for name in ("IMG_1.jpg", "IMG_1.png", "astronaut.jpg", "astronaut.gif")}
    for name, image in images.items():
        if name.endswith(".gif"):
            from PIL import Image
            Image.fromarray(image).save(d / name)
        else:
            cv2.imwrite(str(d / name), image)
    args = ["--checkpoint", trained_checkpoint, "--input", d, "--out", tmp_path / "o", "--device", "cpu"]
    run(args)
    cartoons = sorted(p.name for p in (tmp_path / "o" / "cartoon").iterdir())
    assert cartoons == ["IMG_1.jpg.png", "IMG_1.png.png", "astronaut.gif.png", "astronaut.jpg.png"]
    assert len(list((tmp_path / "o" / "side_by_side").iterdir())) == 4
    printed = capsys.readouterr().out
    assert "4 cartoons in" in printed and "replaces" not in printed
    photo_halves = {name: read_image(tmp_path / "o" / "side_by_side" / f"{name}.jpg")[:, :32]
                    for name in images}  # each side-by-side holds its own photo (JPEG: within a few levels)
    assert np.abs(photo_halves["IMG_1.png"].astype(int) - cv2.cvtColor(images["IMG_1.png"], cv2.COLOR_BGR2RGB)
                  ).mean() < np.abs(photo_halves["IMG_1.jpg"].astype(int)
                                    - cv2.cvtColor(images["IMG_1.png"], cv2.COLOR_BGR2RGB)).mean()
    run(args)
    assert "replaces 9 files of an earlier run" in capsys.readouterr().out  # 4 cartoons, 4 side by sides, sheet


def test_a_video_and_a_photo_with_one_stem_keep_both_outputs(trained_checkpoint, tmp_path, capsys):
    rng = np.random.default_rng(4)
    writer = cv2.VideoWriter(str(tmp_path / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (32, 32))
    for _ in range(3):
        writer.write(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    writer.release()
    cv2.imwrite(str(tmp_path / "clip.jpg"), rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    common = ["--checkpoint", trained_checkpoint, "--out", tmp_path / "o", "--device", "cpu"]
    run([*common, "--input", tmp_path / "clip.mp4"])
    run([*common, "--input", tmp_path / "clip.jpg"])
    assert (tmp_path / "o" / "clip_cartoon.mp4").is_file() and (tmp_path / "o" / "cartoon" / "clip.png").is_file()
    assert "replaces" not in capsys.readouterr().out
    run([*common, "--input", tmp_path / "clip.mp4"])
    assert "replaces 1 file of an earlier run" in capsys.readouterr().out
