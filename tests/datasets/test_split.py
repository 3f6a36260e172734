"""datasets/split.py: the held-out sets take the end of the sorted list, as links; a rerun changes nothing."""
import pytest

from datasets.split import main, split
from utils.errors import UserError
from utils.image_io import list_images


@pytest.fixture
def photos(tmp_path):
    d = tmp_path / "photos"
    (d / "sub").mkdir(parents=True)
    for k in range(7):
        (d / ("sub" if k == 6 else "") / f"{k}.jpg").write_bytes(b"jpeg")
    return d


def test_held_out_sets_take_the_end_in_order(photos):
    sets = split(list_images(photos), [("watch", 2), ("report", 3)])
    assert [p.name for p in sets["train"]] == ["0.jpg", "1.jpg"]
    assert [p.name for p in sets["watch"]] == ["2.jpg", "3.jpg"]
    assert [p.name for p in sets["report"]] == ["4.jpg", "5.jpg", "6.jpg"]  # sub/6.jpg sorts last


def test_links_keep_subfolders_and_a_rerun_changes_nothing(photos, tmp_path, capsys):
    args = [str(photos), str(tmp_path / "sets"), "--held_out", "watch=2", "report=2"]
    main(args)
    main(args)
    assert "train: 3, watch: 2, report: 2" in capsys.readouterr().out
    link = tmp_path / "sets" / "report" / "sub" / "6.jpg"
    assert link.is_symlink() and link.resolve() == (photos / "sub" / "6.jpg").resolve()
    assert sorted(p.name for p in (tmp_path / "sets" / "train").iterdir()) == ["0.jpg", "1.jpg", "2.jpg"]


def test_too_few_images_and_a_foreign_file_are_one_line(photos, tmp_path, capsys):
    with pytest.raises(UserError, match="7 images: need more than the 7 held out"):
        split(list_images(photos), [("report", 7)])
    (tmp_path / "sets" / "train").mkdir(parents=True)
    (tmp_path / "sets" / "train" / "0.jpg").write_bytes(b"someone else's")
    with pytest.raises(SystemExit) as e:
        main([str(photos), str(tmp_path / "sets"), "--held_out", "report=2"])
    assert e.value.code == 2
    assert "sets/train/0.jpg: already exists and is not a link" in capsys.readouterr().err


def test_a_bad_held_out_argument_is_refused(photos, tmp_path):
    with pytest.raises(SystemExit) as e:
        main([str(photos), str(tmp_path / "s"), "--held_out", "train=3"])
    assert e.value.code == 2
