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
