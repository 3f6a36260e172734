"""inference/files.py: one output name per input, never two alike; what an earlier run's files are told."""
from pathlib import Path

import pytest

from inference.files import cartoon_video_path, output_names, output_paths, replaced_line


def names(*relative):
    root = Path("/in")
    return [str(n) for n in output_names([root / r for r in relative], root)]


def test_unique_stems_lose_their_extension():
    assert names("a.jpg", "b.png", "sub/a.jpg") == ["a", "b", "sub/a"]


def test_two_extensions_of_one_stem_keep_them():
    assert names("IMG_1.jpg", "IMG_1.png", "other.jpg") == ["IMG_1.jpg", "IMG_1.png", "other"]


def test_three_extensions_of_one_stem_keep_them():
    assert names("x.heic", "x.jpg", "x.webp") == ["x.heic", "x.jpg", "x.webp"]


@pytest.mark.parametrize("pair", [("a.JPG", "a.jpg"), ("A.jpg", "a.jpg")])
def test_names_that_differ_only_in_case_are_numbered(pair):
    """A case-insensitive file system (macOS, Windows) would make these one file: they are numbered."""
    out = names(*pair)
    assert len({n.casefold() for n in out}) == 2
    assert [n[-2:] for n in out] == ["-1", "-2"]


def test_stems_in_different_folders_stay_apart():
    assert names("x/IMG_1.jpg", "y/IMG_1.png") == ["x/IMG_1", "y/IMG_1"]


def test_every_name_of_a_mixed_folder_is_unique():
    relative = ["a.jpg", "a.png", "A.PNG", "a.gif", "b.jpg", "sub/a.jpg", "sub/a.JPG"]
    out = names(*relative)
    assert len({n.casefold() for n in out}) == len(relative)


def test_output_paths_and_video_path():
    side, alone = output_paths(Path("r"), Path("IMG_1.jpg"))
    assert (side, alone) == (Path("r/side_by_side/IMG_1.jpg.jpg"), Path("r/cartoon/IMG_1.jpg.png"))
    assert cartoon_video_path(Path("v/clip.mp4"), Path("r")) == Path("r/clip_cartoon.mp4")


def test_replaced_line_names_what_exists(tmp_path):
    paths = [tmp_path / f"{k}.png" for k in range(5)]
    assert replaced_line(paths, tmp_path) == ""
    for p in paths[:4]:
        p.write_bytes(b"x")
    line = replaced_line(paths, tmp_path)
    assert line.startswith(f"replaces 4 files of an earlier run in {tmp_path} (0.png, 1.png, 2.png, …)")
