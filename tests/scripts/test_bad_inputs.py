"""Every entry point against bad input: one line naming the thing, exit status 2 where the run cannot go on,
skips counted where it can, and files saved before untouched."""
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import inference.export as export
import pretrain
import test as test_script
import train
import utils.faces.prepare as prepare_faces
from tests.pixel_bombs import png_header_only
from utils.checkpoint import save_checkpoint
from utils.image_io import read_image

REPO = Path(__file__).resolve().parents[2]


def write_bad_files(d):
    d.mkdir(parents=True, exist_ok=True)
    full = cv2.imencode(".jpg", np.full((32, 32, 3), 90, np.uint8))[1].tobytes()
    (d / "truncated.jpg").write_bytes(full[: len(full) // 2])
    (d / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(200))
    (d / "text.jpg").write_text("hello")
    (d / "empty.png").write_bytes(b"")
    png_header_only(d / "huge.png")
    return 5


def write_awkward_good_files(d):
    """Readable but unusual: 1×1, grayscale, RGBA, 16-bit, CMYK, EXIF-rotated."""
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    cv2.imwrite(str(d / "one_pixel.png"), np.full((1, 1, 3), 200, np.uint8))
    cv2.imwrite(str(d / "gray.png"), rng.integers(0, 256, (40, 50), dtype=np.uint8))
    cv2.imwrite(str(d / "rgba.png"), rng.integers(0, 256, (40, 40, 4), dtype=np.uint8))
    cv2.imwrite(str(d / "deep.png"), rng.integers(0, 65536, (40, 40, 3), dtype=np.uint16))
    Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).convert("CMYK").save(d / "cmyk.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    Image.fromarray(rng.integers(0, 256, (30, 60, 3), dtype=np.uint8)).save(d / "rotated.jpg", exif=exif)
    return 6


def test_awkward_files_decode_and_exif_rotation_is_applied(tmp_path):
    write_awkward_good_files(tmp_path)
    for f in tmp_path.iterdir():
        assert read_image(f).shape[2] == 3, f
    assert read_image(tmp_path / "rotated.jpg").shape[:2] == (60, 30)


def snapshot(folder):
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def env(tmp_path, photo_dir, cartoon_dir, vgg_file):
    """A save folder holding a pretrain and a train checkpoint, plus helpers to run each entry point."""
    ck = tmp_path / "ck"
    common = ["--photo_dir", str(photo_dir), "--batch_size", "2", "--image_size", "32", "--channel", "8",
              "--num_blocks", "1", "--save_dir", str(ck), "--log_dir", str(tmp_path / "logs"), "--workers", "0",
              "--device", "cpu"]
    pretrain.main([*common, "--total_iter", "1"])
    tr = [*common, "--cartoon_dir", str(cartoon_dir), "--vgg_weights", str(vgg_file), "--superpixel_workers", "0",
          "--w5", "0", "--model_version", "1"]
    train.main([*tr, "--total_iter", "1"])
    return {"ck": ck, "pretrain": common, "train": tr, "root": tmp_path}


def expect_error(capsys, call, message):
    with pytest.raises(SystemExit) as e:
        call()
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2, err
    assert message in err[-1], err
    assert not any("Traceback" in line for line in err)


@pytest.mark.parametrize("case", ["only_bad_photos", "empty_photos", "missing_photos", "missing_cartoons",
                                  "only_bad_cartoons"])
def test_training_scripts_reject_unusable_folders(env, capsys, case):
    root, before = env["root"], snapshot(env["ck"])
    bad = root / "bad"
    write_bad_files(bad)
    (root / "empty").mkdir()
    folder = {"only_bad_photos": bad, "empty_photos": root / "empty", "missing_photos": root / "nope",
              "missing_cartoons": root / "nope", "only_bad_cartoons": bad}[case]
    message = {"only_bad_photos": "none of its 5 image files could be decoded", "empty_photos": "no images found",
               "missing_photos": "folder not found", "missing_cartoons": "folder not found",
               "only_bad_cartoons": "none of its 5 image files could be decoded"}[case]
    flag = "--cartoon_dir" if "cartoon" in case else "--photo_dir"
    scripts = [(train.main, env["train"])] if flag == "--cartoon_dir" else [(pretrain.main, env["pretrain"]),
                                                                            (train.main, env["train"])]
    for main, args in scripts:
        expect_error(capsys, lambda: main([*args, "--total_iter", "3", flag, str(folder)]), f"{folder}: {message}")
    assert snapshot(env["ck"]) == before


def test_training_skips_bad_files_among_good_ones_and_counts_them(env, capsys):
    mixed = env["root"] / "mixed"
    bad = write_bad_files(mixed)
    write_awkward_good_files(mixed)
    pretrain.main([*env["pretrain"], "--total_iter", "6", "--photo_dir", str(mixed), "--batch_size", "4",
                   "--save_dir", str(env["root"] / "ck2")])
    out = capsys.readouterr().out
    assert f"{bad} unreadable file(s) skipped" in out
    for name in ("truncated.jpg", "corrupt.png", "text.jpg", "empty.png", "huge.png"):
        assert name in out


@pytest.mark.parametrize("flags,message", [
    (["--w1", "-0.5"], "--w1 -0.5: loss weights must not be negative"),
    (["--image_size", "30"], "--image_size 30: must be a multiple of 4"),
    (["--batch_size", "0"], "--batch_size 0: must be at least 1"),
    (["--total_iter", "0"], "--total_iter 0: must be at least 1"),
    (["--landmark_sigma", "0"], "--landmark_sigma 0.0: must be positive"),
])
def test_out_of_range_flags(env, capsys, flags, message):
    before = snapshot(env["ck"])
    expect_error(capsys, lambda: train.main([*env["train"], "--total_iter", "2", *flags]), message)
    assert snapshot(env["ck"]) == before


def test_batch_larger_than_the_data_set_warns_and_runs(env, capsys):
    pretrain.main([*env["pretrain"], "--total_iter", "1", "--batch_size", "10", "--save_dir", str(env["root"] / "x")])
    assert "--batch_size 10 is larger than the 6 images" in capsys.readouterr().err


def test_damaged_and_foreign_checkpoints(env, capsys):
    ck, before = env["ck"], None
    truncated = ck / "gen1_batch_1.pth"
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 3])
    before = snapshot(ck)
    expect_error(capsys, lambda: train.main([*env["train"], "--total_iter", "3", "--checkpoint", "1"]),
                 "gen1_batch_1.pth: not a readable checkpoint")
    expect_error(capsys, lambda: test_script.main(["--checkpoint", str(truncated), "--input", "x.png"]),
                 "gen1_batch_1.pth: not a readable checkpoint")
    expect_error(capsys, lambda: export.main(["--checkpoint", str(truncated), "--onnx", str(env["root"] / "o.onnx")]),
                 "gen1_batch_1.pth: not a readable checkpoint")
    other = save_checkpoint(env["root"] / "other.pth", {"kind": "pretrain", "step": 1,
                                                          "G": {"conv0.weight": np.zeros(1).tolist()}})
    expect_error(capsys, lambda: train.main([*env["train"], "--total_iter", "3", "--model_version", "2",
                                             "--pretrained", str(other)]),
                 "other.pth: 'G' does not match this architecture")
    expect_error(capsys, lambda: train.main([*env["train"], "--total_iter", "3", "--model_version", "2",
                                             "--checkpoint", "1"]),
                 "gen2_batch_1.pth: checkpoint not found (steps saved for gen2: none)")
    assert snapshot(ck) == before


def test_test_script_bad_inputs(env, capsys):
    root, ckpt = env["root"], env["ck"] / "gen1_batch_1.pth"
    mixed = root / "mixed"
    bad = write_bad_files(mixed)
    good = write_awkward_good_files(mixed)
    test_script.main(["--checkpoint", str(ckpt), "--input", str(mixed), "--out", str(root / "r"), "--device", "cpu"])
    out = capsys.readouterr().out
    assert f"{good} cartoons in {root / 'r'} ({bad} unreadable skipped)" in out
    assert read_image(root / "r" / "cartoon" / "one_pixel.png").shape == (1, 1, 3)
    assert read_image(root / "r" / "cartoon" / "rotated.png").shape == (60, 30, 3)
    (root / "empty").mkdir()
    expect_error(capsys, lambda: test_script.main(["--checkpoint", str(ckpt), "--input", str(root / "empty"),
                                                   "--out", str(root / "r2")]), "no readable images")
    expect_error(capsys, lambda: test_script.main(["--checkpoint", str(ckpt), "--photo_dir", str(root / "nope")]),
                 "nope: folder not found")
    expect_error(capsys, lambda: test_script.main(["--checkpoint", str(ckpt), "--size", "2", "--input", "a.png"]),
                 "--size 2: must be at least 16")


def test_prepare_faces_bad_inputs(tmp_path, capsys):
    src = tmp_path / "src"
    bad = write_bad_files(src)
    prepare_faces.main([str(src), str(tmp_path / "dst"), "--workers", "1"])
    assert f"0 aligned faces in {tmp_path / 'dst'}; {bad} without a face or unreadable" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    expect_error(capsys, lambda: prepare_faces.main([str(tmp_path / "empty"), str(tmp_path / "d")]),
                 "empty: no images found")
    expect_error(capsys, lambda: prepare_faces.main([str(src), str(tmp_path / "d"), "--predictor",
                                                     str(tmp_path / "no.dat")]), "no.dat: dlib model file not found")


def test_unreadable_permissions_are_skipped_with_the_reason(tmp_path, monkeypatch):
    # root (CI) reads any file whatever its mode, so the operating system's refusal is simulated
    import utils.image_io
    from utils.image_io import BadImage

    def refuse(path, dtype):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(utils.image_io.np, "fromfile", refuse)
    with pytest.raises(BadImage, match="locked.png: cannot read \\(Permission denied\\)"):
        read_image(tmp_path / "locked.png")


@pytest.fixture
def phone_folder(tmp_path):
    """What a phone and the web leave in a folder: a 30,000² PNG bomb (0.9 MB), an iPhone HEIC, an animated GIF,
    ordinary photos and a note. Returns (folder, names of the images that must be cartoonised)."""
    from tests.pixel_bombs import png_bomb
    from utils.image_io import pillow, skimage_photo

    folder = tmp_path / "phone"
    folder.mkdir()
    png_bomb(folder / "bomb.png")
    pillow()
    Image.fromarray(skimage_photo("astronaut")[::4, ::4]).save(folder / "IMG_0001.heic")
    frames = [Image.fromarray(skimage_photo(n)[:96, :128]) for n in ("chelsea", "coffee")]
    frames[0].save(folder / "loop.gif", save_all=True, append_images=frames[1:])
    cv2.imwrite(str(folder / "photo.jpg"), skimage_photo("coffee")[::4, ::4, ::-1])
    cv2.imwrite(str(folder / "scan.png"), skimage_photo("camera")[::4, ::4])
    (folder / "notes.txt").write_text("not an image")
    return folder, ["IMG_0001", "loop", "photo", "scan"]


def test_test_script_on_a_phone_folder_skips_the_bomb_in_one_line_within_3_gb(phone_folder, trained_checkpoint,
                                                                             tmp_path):
    """The issue's case: the PNG bomb used to be decoded (OpenCV allows 2³⁰ pixels) and killed the whole batch."""
    import resource
    import subprocess
    import sys

    folder, names = phone_folder
    code = ("import resource, runpy, sys; sys.argv = ['test.py'] + sys.argv[1:]\n"
            "try:\n    runpy.run_path('test.py', run_name='__main__')\nfinally:\n"
            "    print('peak_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code, "--checkpoint", str(trained_checkpoint), "--input",
                           str(folder), "--out", str(tmp_path / "r"), "--device", "cpu", "--align"],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert f"skipped {folder / 'bomb.png'}: 30000×30000 pixels (900 megapixels) is over the limit of 50 megapixels" \
           in done.stdout
    assert "1 other file skipped: 1 × .txt (not an image format)" in done.stdout
    assert sorted(p.stem for p in (tmp_path / "r" / "cartoon").iterdir()) == names
    peak_gb = int(done.stderr.split("peak_kb ")[-1]) / 2**20
    assert peak_gb < 3, f"peak {peak_gb:.2f} GB"
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20 < 3


def test_training_on_a_phone_folder_skips_the_bomb_and_trains(phone_folder, cartoon_dir, vgg_file, trained_checkpoint,
                                                              tmp_path, capsys):
    folder, names = phone_folder
    train.main(["--photo_dir", str(folder), "--cartoon_dir", str(cartoon_dir), "--vgg_weights", str(vgg_file),
                "--pretrained", str(trained_checkpoint),
                "--batch_size", "4", "--image_size", "32", "--channel", "8", "--num_blocks", "1", "--total_iter",
                "2", "--save_dir", str(tmp_path / "ck"), "--log_dir", str(tmp_path / "logs"), "--workers", "0",
                "--device", "cpu", "--superpixel_workers", "0", "--w5", "0", "--model_version", "1"])
    out = capsys.readouterr().out
    # 2 steps × 4 draw all 5 images once (each epoch is a permutation), so the bomb is met and skipped
    assert f"warning: skipped {folder / 'bomb.png'}: 30000×30000 pixels" in out
    assert "1 unreadable file(s) skipped" in out and f"{folder}: 1 other file skipped: 1 × .txt" in out
    assert (tmp_path / "ck" / "gen1_batch_2.pth").is_file()


def test_pixel_limit_flag_is_checked_and_applies(env, capsys):
    root, ckpt = env["root"], env["ck"] / "gen1_batch_1.pth"
    cv2.imwrite(str(root / "big.png"), np.zeros((100, 100, 3), np.uint8))
    expect_error(capsys, lambda: test_script.main(["--checkpoint", str(ckpt), "--input", str(root / "big.png"),
                                                   "--max_megapixels", "0.005", "--out", str(root / "o")]),
                 "no readable images")
    expect_error(capsys, lambda: test_script.main(["--checkpoint", str(ckpt), "--max_megapixels", "0"]),
                 "--max_megapixels 0.0: must be above 0")
    expect_error(capsys, lambda: train.main([*env["train"], "--max_megapixels", "-1"]),
                 "--max_megapixels -1.0: must be above 0")
