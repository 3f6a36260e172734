import cv2
import numpy as np
import pytest
import torch

from datasets.folder import ImageFolder, InfiniteSampler, SkipReport, batches, workers_stopped_after
from utils.errors import UserError
from utils.image_io import BadImage, read_image


@pytest.fixture
def mixed_dir(tmp_path):
    """One good image of each awkward kind, plus files that must be skipped."""
    d = tmp_path / "mixed"
    (d / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    cv2.imwrite(str(d / "a_gray.png"), rng.integers(0, 256, (40, 60), dtype=np.uint8))
    cv2.imwrite(str(d / "b_rgba.png"), rng.integers(0, 256, (50, 30, 4), dtype=np.uint8))
    cv2.imwrite(str(d / "sub" / "c_16bit.png"), rng.integers(0, 65536, (33, 33, 3), dtype=np.uint16))
    cv2.imwrite(str(d / "d_ok.JPG"), rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    full = cv2.imencode(".jpg", rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))[1].tobytes()
    (d / "e_truncated.jpg").write_bytes(full[: len(full) // 2])
    (d / "f_text.png").write_text("not an image")
    (d / "g_empty.jpg").write_bytes(b"")
    (d / "notes.txt").write_text("ignored: not an image extension")
    return d


def test_lists_recursively_sorted_and_case_insensitive(mixed_dir):
    names = [p.name for p in ImageFolder(mixed_dir, 32).files]
    assert names == ["a_gray.png", "b_rgba.png", "d_ok.JPG", "e_truncated.jpg", "f_text.png", "g_empty.jpg",
                     "c_16bit.png"]


@pytest.mark.parametrize("name", ["a_gray.png", "b_rgba.png", "sub/c_16bit.png", "d_ok.JPG"])
def test_awkward_formats_become_rgb_uint8(mixed_dir, name):
    image = read_image(mixed_dir / name)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


def test_16bit_is_scaled_not_truncated(tmp_path):
    value = np.full((8, 8, 3), 40000, np.uint16)
    cv2.imwrite(str(tmp_path / "x.png"), value)
    assert read_image(tmp_path / "x.png")[0, 0, 0] == 40000 >> 8


@pytest.mark.parametrize("name,reason", [("e_truncated.jpg", "truncated JPEG"), ("f_text.png", "not a decodable"),
                                         ("g_empty.jpg", "empty file")])
def test_bad_files_raise_bad_image_naming_the_file(mixed_dir, name, reason):
    with pytest.raises(BadImage, match=reason) as e:
        read_image(mixed_dir / name)
    assert name in str(e.value)


def test_items_are_square_tensors_in_range(mixed_dir):
    ds = ImageFolder(mixed_dir, 32)
    for i in range(len(ds)):
        item = ds[i]
        assert item["image"].shape == (3, 32, 32)
        assert -1 <= item["image"].min() and item["image"].max() <= 1


def test_unreadable_files_are_skipped_reported_and_counted(mixed_dir):
    ds = ImageFolder(mixed_dir, 32)
    messages = []
    report = SkipReport(messages.append)
    data = batches(ds, batch_size=len(ds), seed=0)
    for _ in range(3):
        report.update(next(data))
    assert report.summary() == "3 unreadable file(s) skipped"
    assert len(messages) == 3  # once per file, however often it comes up
    assert any("e_truncated.jpg" in m for m in messages)


def test_empty_and_missing_folders_are_one_line_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="empty: no images found"):
        ImageFolder(tmp_path / "empty", 32)
    with pytest.raises(UserError, match="nowhere: folder not found"):
        ImageFolder(tmp_path / "nowhere", 32)


def test_folder_of_only_bad_files_is_an_error(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.jpg").write_text("no")
    with pytest.raises(UserError, match="none of its 1 image files could be decoded"):
        ImageFolder(tmp_path / "bad", 32)


def _take(sampler, k):
    it = iter(sampler)
    return [next(it) for _ in range(k)]


def test_sampler_resumes_exactly_and_covers_each_epoch():
    full = _take(InfiniteSampler(10, seed=3), 35)
    assert sorted(i for i, _ in full[:10]) == list(range(10))
    assert full[17:] == _take(InfiniteSampler(10, seed=3, start=17), 18)
    assert full[:10] != full[10:20]  # a new permutation each epoch


def test_sampler_shards_are_disjoint_within_an_epoch():
    a = [i for i, _ in _take(InfiniteSampler(10, seed=1, rank=0, world=2), 5)]
    b = [i for i, _ in _take(InfiniteSampler(10, seed=1, rank=1, world=2), 5)]
    assert not set(a) & set(b) and len(set(a) | set(b)) == 10


def test_flip_mirrors_the_image(photo_dir):
    ds = ImageFolder(photo_dir, 32)
    assert torch.equal(ds[(0, True)]["image"], ds[(0, False)]["image"].flip(-1))


def test_loader_leaves_global_rng_untouched(photo_dir):
    state = torch.get_rng_state()
    next(batches(ImageFolder(photo_dir, 32), 2, seed=0))
    assert torch.equal(state, torch.get_rng_state())


def test_loader_workers_are_stopped_when_the_training_block_ends_even_while_the_iterator_lives(photo_dir):
    """An iterator still referenced at exit would leave its workers to multiprocessing's exit handler, whose SIGTERM
    they ignore (a stopped study hung there): the block stops them itself, after an exception too."""
    import multiprocessing

    it = batches(ImageFolder(photo_dir, 32), 2, 0, workers=1)
    next(it)
    workers = list(it.iterator._workers)
    try:
        assert workers and all(w.is_alive() for w in workers)
        with pytest.raises(KeyboardInterrupt), workers_stopped_after(it):
            raise KeyboardInterrupt
        assert not any(w.is_alive() for w in workers)
        assert not set(workers) & set(multiprocessing.active_children())
    finally:
        it.close()  # when the check fails: else pytest itself would hang at exit, as the study did


@pytest.mark.parametrize("error", [ConnectionResetError(104, "Connection reset by peer"), EOFError(),
                                   BrokenPipeError(32, "Broken pipe"), FileNotFoundError(2, "No such file")],
                         ids=lambda e: type(e).__name__)
def test_a_worker_killed_while_handing_over_a_batch_is_helper_died(photo_dir, monkeypatch, error):
    """The race CI met once: the worker is killed while the main process takes a batch's shared memory from it.
    The transport fails (here ``rebuild_storage_fd``, which fetches each tensor's memory from the worker's socket,
    raises what the race raised) while the worker is still being killed (SIGKILL 0.1 s later), so DataLoader's own
    check still finds it alive and lets the transport's error through. It must become HelperDied, naming it."""
    import os
    import signal
    import threading

    import torch.multiprocessing.reductions as reductions

    from utils.errors import HelperDied

    it = batches(ImageFolder(photo_dir, 32), 2, 0, workers=1)
    try:
        next(it)
        worker = it.iterator._workers[0]

        def handing_over(*args):
            threading.Timer(0.1, os.kill, (worker.pid, signal.SIGKILL)).start()
            raise error

        monkeypatch.setattr(reductions, "rebuild_storage_fd", handing_over)
        with pytest.raises(HelperDied, match=rf"DataLoader worker \(pid\(s\) {worker.pid}\) exited unexpectedly "
                                             rf"\(killed by SIGKILL, while handing over a batch: "
                                             rf"{type(error).__name__}\)"):
            next(it)
    finally:
        it.close()


def test_a_transport_error_with_every_worker_alive_is_not_hidden(photo_dir, monkeypatch):
    import torch.multiprocessing.reductions as reductions

    from datasets.folder import Batches

    it = batches(ImageFolder(photo_dir, 32), 2, 0, workers=1)
    try:
        next(it)
        monkeypatch.setattr(Batches, "DYING", 0.2)
        monkeypatch.setattr(reductions, "rebuild_storage_fd", lambda *a: (_ for _ in ()).throw(OSError(5, "EIO")))
        with pytest.raises(OSError, match="EIO"):
            next(it)
    finally:
        it.close()
