import cv2
from skimage import data

from studies import face_coverage
from utils.image_io import write_image


def test_counts_found_faces_and_those_cartoonised_from_their_crop(tmp_path, capsys):
    face = data.astronaut()[20:280, 90:350]
    write_image(tmp_path / "a_sharp.png", face)
    write_image(tmp_path / "b_blurred.png", cv2.GaussianBlur(face, (0, 0), 3))  # a weak detection, confirmed
    write_image(tmp_path / "c_tiny.png", cv2.resize(face, (60, 60)))  # no face found at this size
    write_image(tmp_path / "d_cat.png", data.chelsea())
    assert face_coverage.main(["--photo_dir", str(tmp_path), "--last", "3"]) == 0  # the last 3: b, c, d
    out = capsys.readouterr().out
    assert "3 photos (0 unreadable): dlib finds a face on 1; 1 of those 1 (100.0 %)" in out
    assert "(0 sure, 1 confirmed by the CNN detector)" in out and "no false face" in out
