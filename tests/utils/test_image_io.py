"""Image conversion and layout helpers against direct numpy computations."""
import cv2
import numpy as np
import pytest
import torch

from utils.image_io import (
    contact_sheet,
    letterbox,
    list_images,
    resize_crop,
    square_params,
    to_batch,
    to_tensor,
    to_uint8,
)


def test_uint8_to_minus1_1_and_back_is_exact():
    image = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, 2)
    x = to_tensor(image)
    assert x.shape == (3, 16, 16) and x.min() == -1 and x.max() == 1
    np.testing.assert_allclose(x[0].numpy(), image[..., 0] / 127.5 - 1, atol=1e-6)
    assert np.array_equal(to_uint8(x), image)
    assert torch.equal(to_batch([image, image])[1], x)


def test_to_uint8_clips_and_expands_gray():
    out = to_uint8(torch.tensor([[[-3.0, 0.0, 3.0]]]))
    assert out.shape == (1, 3, 3) and out[0, :, 0].tolist() == [0, 128, 255]


@pytest.mark.parametrize("h, w, size, want", [(100, 200, 50, (50, 100, 25, 0)), (300, 100, 100, (300, 100, 0, 100)),
                                              (64, 64, 64, (64, 64, 0, 0))])
def test_square_params_resize_short_side_then_centre(h, w, size, want):
    assert square_params(h, w, size) == want


def test_resize_crop_takes_the_centre():
    image = np.zeros((100, 300, 3), np.uint8)
    image[:, 100:200] = 255  # the centre square is white
    assert (resize_crop(image, 50) > 250).all()


def test_letterbox_keeps_aspect_on_white_and_sheet_layout():
    tall = np.zeros((100, 50, 3), np.uint8)
    box = letterbox(tall, 64, 64)
    assert box.shape == (64, 64, 3) and (box[:, :10] == 255).all() and (box[:, 20:44] == 0).all()
    sheet = contact_sheet([(tall, tall)] * 5, cell=32, per_row=4, pad=2)
    assert sheet.shape == (2 * (32 + 4), 4 * (64 + 4), 3)


def test_list_images_is_recursive_sorted_and_case_insensitive(tmp_path):
    for name in ("b/x.PNG", "a.jpg", "c.txt", "a2.JpEg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    assert [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)] == ["a.jpg", "a2.JpEg", "b/x.PNG"]


def test_read_images_keeps_order_stops_at_the_limit_and_says_why_it_skipped(tmp_path):
    from utils.image_io import read_images

    good = np.zeros((4, 5, 3), np.uint8)
    for name in ("a.png", "c.png", "d.png"):
        cv2.imwrite(str(tmp_path / name), good)
    (tmp_path / "b.png").write_bytes(b"")
    files = [tmp_path / n for n in ("a.png", "b.png", "c.png", "d.png")]
    images, skipped = read_images(files, limit=2)
    assert len(images) == 2 and skipped == [f"{tmp_path / 'b.png'}: empty file"]  # d.png never read
    images, skipped = read_images(files)
    assert len(images) == 3 and len(skipped) == 1


# ---- what phones and the web send: HEIC, AVIF, GIF, animated WebP; pixel bombs refused from the header -------

def _photo(h=48, w=64) -> np.ndarray:
    """A smooth colour gradient (lossy codecs keep it to a few levels)."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), np.full_like(x, 90)], -1).astype(np.uint8)


@pytest.mark.parametrize("suffix", [".heic", ".avif"])
def test_phone_formats_decode_to_their_pixels(tmp_path, suffix):
    from PIL import Image

    from utils.image_io import pillow, read_image

    pillow()  # registers pillow-heif's HEIF writer and reader
    path = tmp_path / f"phone{suffix}"
    Image.fromarray(_photo()).save(path, quality=95)
    assert path.read_bytes()[4:8] == b"ftyp"  # an ISO-BMFF (HEIF family) file, as phones write
    got = read_image(path)
    assert got.shape == (48, 64, 3) and got.dtype == np.uint8
    assert np.abs(got.astype(int) - _photo()).mean() < 4


@pytest.mark.parametrize("suffix", [".gif", ".webp"])
def test_animations_give_their_first_frame(tmp_path, suffix):
    from PIL import Image

    from utils.image_io import read_image

    frames = [Image.fromarray(np.full((20, 30, 3), v, np.uint8)) for v in (40, 200, 120)]
    path = tmp_path / f"anim{suffix}"
    frames[0].save(path, save_all=True, append_images=frames[1:], **({"lossless": True} if suffix == ".webp" else {}))
    assert Image.open(path).n_frames == 3
    got = read_image(path)
    assert got.shape == (20, 30, 3) and (got == 40).all()


def test_a_pixel_bomb_is_refused_from_its_header(tmp_path):
    from tests.pixel_bombs import png_header_only
    from utils.image_io import BadImage, TooManyPixels, read_image

    path = png_header_only(tmp_path / "bomb.png", side=30_000)  # 57 bytes; no pixel data at all
    with pytest.raises(TooManyPixels) as e:
        read_image(path)
    assert str(e.value) == (f"{path}: 30000×30000 pixels (900 megapixels) is over the limit of 50 megapixels "
                            f"(--max_megapixels)")
    assert (e.value.width, e.value.height, e.value.limit) == (30_000, 30_000, 50_000_000)
    assert isinstance(e.value, BadImage)  # every reader that skips unreadable files skips it the same way


def test_the_pixel_limit_is_width_times_height(tmp_path):
    from utils.image_io import TooManyPixels, read_image

    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((50, 80, 3), np.uint8))  # 4,000 pixels
    assert read_image(tmp_path / "a.png", max_pixels=4000).shape == (50, 80, 3)
    with pytest.raises(TooManyPixels, match="80×50 pixels .* limit of 0.004 megapixels"):
        read_image(tmp_path / "a.png", max_pixels=3999)


def test_listing_counts_the_files_it_skips_by_reason(tmp_path):
    from collections import Counter

    from utils.image_io import skipped_line

    for name in ("a.jpg", "b.heic", "c.GIF", "n1.txt", "sub/n2.txt", "clip.mp4", ".DS_Store", "README"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    skipped = Counter()
    assert [p.name for p in list_images(tmp_path, skipped)] == ["a.jpg", "b.heic", "c.GIF"]
    assert skipped == {".txt (not an image format)": 2, ".mp4 (a video: give it alone to --input)": 1,
                       "hidden": 1, "no extension (not an image format)": 1}
    assert skipped_line(skipped).startswith("5 other files skipped: 2 × .txt (not an image format), ")
    assert skipped_line(Counter()) == ""


# ---- fuzzing: damaged files of every format are a BadImage or an image, never another error, a hang or a bomb ----

def _valid_image_bytes(suffix: str) -> bytes:
    import io

    from PIL import Image

    from utils.image_io import pillow

    pillow()
    frames = [Image.fromarray(_photo(24, 32)), Image.fromarray(255 - _photo(24, 32))]
    buf = io.BytesIO()
    kind = {".jpg": "JPEG", ".png": "PNG", ".heic": "HEIF", ".gif": "GIF", ".webp": "WEBP", ".tif": "TIFF"}[suffix]
    frames[0].save(buf, kind, **({"save_all": True, "append_images": frames[1:]} if kind in ("GIF", "WEBP") else {}))
    return buf.getvalue()


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".heic", ".gif", ".webp", ".tif"])
def test_fuzz_read_image(tmp_path, suffix):
    from hypothesis import given

    from tests.fuzzing import assert_valid_or, bounded, damaged
    from utils.image_io import BadImage, read_image

    def shape(path):
        image = read_image(path)
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        return image.shape

    @given(damaged(_valid_image_bytes(suffix)))
    def check(data):
        path = tmp_path / f"fuzzed{suffix}"
        path.write_bytes(data)
        assert_valid_or(bounded(shape, path), BadImage)

    check()
