"""An unpaired image folder and an infinite, step-based, resumable sampler over it."""
import contextlib
import signal
import sys
import threading
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from utils.errors import HelperDied, UserError, exit_reason
from utils.image_io import (
    MAX_PIXELS,
    BadImage,
    list_images,
    read_image,
    resize_crop,
    resize_crop_points,
    skipped_line,
    to_tensor,
)
from utils.faces.layout import flip_points
from utils.runtime import DYING, exited, helper_process


class ImageFolder(Dataset):
    """Every image under ``root`` (recursive, sorted), as (3, size, size) tensors in [-1, 1].

    Indexed by ``(index, flip)`` pairs from InfiniteSampler (or a plain index). A file that cannot be decoded
    (or declares more than ``max_pixels`` pixels) is replaced by the next readable one; its path is returned in
    ``"skipped"`` so the training loop can warn once per file and count them (this works across DataLoader
    worker processes). ``other_files`` counts the folder's files that are not images, by reason ('' if none).

    With ``landmarks`` (a LandmarkCache of this folder), items also carry ``"points"``: the 68 landmarks moved
    by the same resize, crop and flip as the pixels (flips swap left/right points), NaN when there is no face.
    """

    def __init__(self, root, size: int, landmarks=None, max_pixels: int = MAX_PIXELS, holdout: int = 0):
        self.root = Path(root)
        if not self.root.is_dir():
            raise UserError(f"{self.root}: folder not found (pass your images with --photo_dir / --cartoon_dir)")
        others = Counter()
        self.files = list_images(self.root, others)
        if holdout:  # the last ``holdout`` files (sorted) are held out for measures, never trained on
            if len(self.files) <= holdout:
                raise UserError(f"{self.root}: {len(self.files)} images, need more than --holdout {holdout}")
            self.files = self.files[:-holdout]
        self.other_files = skipped_line(others)
        if not self.files:
            raise UserError(f"{self.root}: no images found (looked for .jpg .jpeg .png .bmp .webp .tif .heic "
                            f".avif .gif{'; ' + self.other_files if others else ''})")
        self.size, self.landmarks, self.max_pixels = size, landmarks, max_pixels
        self._first_readable()

    def _first_readable(self) -> None:
        """Fail early, with one line, when no file in the folder decodes (normally reads exactly one file)."""
        for path in self.files:
            try:
                read_image(path, self.max_pixels)
                return
            except BadImage:
                continue
        raise UserError(f"{self.root}: none of its {len(self.files)} image files could be decoded")

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int) -> tuple[np.ndarray, int, list[str]]:
        """(original RGB array, index actually used, paths skipped on the way)."""
        skipped = []
        for k in range(len(self.files)):
            i = (index + k) % len(self.files)
            try:
                return read_image(self.files[i], self.max_pixels), i, skipped
            except BadImage as e:
                skipped.append(str(e))
        raise UserError(f"{self.root}: no readable image left")

    def __getitem__(self, key) -> dict:
        index, flip = key if isinstance(key, tuple) else (key, False)
        original, used, skipped = self.load(index)
        image = resize_crop(original, self.size)
        if flip:
            image = image[:, ::-1]
        item = {"image": to_tensor(image), "index": used, "flip": flip, "skipped": "\n".join(skipped)}
        if self.landmarks is not None:
            points = self.landmarks.get(str(self.files[used].relative_to(self.root)))
            if points is None:
                points = np.full((68, 2), np.nan, np.float32)
            points = resize_crop_points(points, *original.shape[:2], self.size)
            item["points"] = torch.from_numpy(flip_points(points, self.size) if flip else points)
        return item


class InfiniteSampler(Sampler):
    """Yields ``(index, flip)`` forever: epoch e is a permutation drawn from ``seed`` and e alone.

    The k-th sample of the stream depends only on (seed, k), so resuming at step s with ``start = s·batch``
    continues exactly where an unbroken run would be. ``rank``/``world`` give each process of a distributed
    run a disjoint shard of every epoch's permutation.
    """

    def __init__(self, n: int, seed: int, start: int = 0, flip: bool = True, rank: int = 0, world: int = 1):
        self.n, self.seed, self.start, self.flip, self.rank, self.world = n, seed, start, flip, rank, world
        self.per_rank = n // world if n >= world else 1

    def epoch_order(self, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        perm = torch.randperm(self.n, generator=g)
        flips = torch.rand(self.n, generator=g) < 0.5
        if self.n >= self.world:
            perm, flips = perm[self.rank::self.world][: self.per_rank], flips[self.rank::self.world][: self.per_rank]
        return perm, flips & self.flip

    def __iter__(self):
        epoch, offset = divmod(self.start, self.per_rank)
        while True:
            perm, flips = self.epoch_order(epoch)
            for i in range(offset, len(perm)):
                yield int(perm[i]), bool(flips[i])
            epoch, offset = epoch + 1, 0


def batches(dataset: Dataset, batch_size: int, seed: int, start_step: int = 0, workers: int = 0,
            flip: bool = True, rank: int = 0, world: int = 1, pin_memory: bool = False) -> "Batches":
    """An endless iterator of batches built once (never ``next(iter(loader))`` per step), starting at a step."""
    if batch_size > len(dataset):
        print(f"warning: --batch_size {batch_size} is larger than the {len(dataset)} images of "
              f"{getattr(dataset, 'root', 'the data set')}: images repeat within a batch", file=sys.stderr)
    # OpenCV's own thread pool is not fork-safe: a forked worker touching it while the parent's pool threads
    # exist can deadlock. One OpenCV thread in the parent, before any fork, is inherited by the workers.
    cv2.setNumThreads(1)
    sampler = InfiniteSampler(len(dataset), seed, start_step * batch_size, flip, rank, world)
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=workers,
                        pin_memory=pin_memory, persistent_workers=workers > 0, worker_init_fn=helper_process,
                        prefetch_factor=4 if workers > 0 else None,
                        generator=torch.Generator().manual_seed(seed))  # leaves the global RNG untouched
    return Batches(iter(loader))


class Batches:
    """DataLoader's iterator, with a dead worker process (killed for memory, or by a person) raised as HelperDied
    when the next batch is asked for, and ``close()`` to stop the workers.

    DataLoader installs a SIGCHLD handler that raises its error wherever the main process happens to be (in the
    middle of an optimiser step, or of a checkpoint's write). It is put back to the default here, so a worker's
    death is found at ``next`` (DataLoader's queue polls every 5 s and checks its workers), between two steps,
    where the run can save the last complete one."""

    def __init__(self, iterator):
        self.iterator = iterator
        if getattr(iterator, "_workers", None) and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self.iterator)
        except RuntimeError as e:
            if "DataLoader worker" not in str(e):
                raise
            raise HelperDied(f"a data-loading helper process died: {str(e).splitlines()[0]}") from None
        except (OSError, EOFError) as e:
            # A worker killed while it hands a batch over: the batch's shared memory comes through a socket of the
            # worker's, which closes before the kernel has reaped the worker, so DataLoader's own check still sees
            # it alive and lets the transport's error through (ConnectionResetError, EOFError, BrokenPipeError, a
            # shared-memory file gone). Which worker died is known moments later.
            dead = exited(getattr(self.iterator, "_workers", []), self.DYING)
            if not dead:
                raise
            pids = ", ".join(str(w.pid) for w in dead)
            why = ", ".join(exit_reason(w.exitcode) for w in dead)
            raise HelperDied(f"a data-loading helper process died: DataLoader worker (pid(s) {pids}) exited "
                             f"unexpectedly ({why}, while handing over a batch: {type(e).__name__})") from None

    DYING = DYING  # seconds a worker whose transport failed is given to be found dead (a test shortens it)

    def close(self) -> None:
        """Stop the worker processes (none with workers=0)."""
        stop = getattr(self.iterator, "_shutdown_workers", None)
        if stop is not None:
            stop()


@contextlib.contextmanager
def workers_stopped_after(*iterators):
    """Stop the worker processes of ``batches`` iterators when the block ends, however it ends. DataLoader's
    iterator stops them when it is collected, but one still alive at exit (held by a reference cycle) meets
    multiprocessing's exit handler, which sends its daemonic children SIGTERM (ignored by these helpers, see
    ``utils.runtime.helper_process``) and then waits for them for ever: a study stopped by SIGTERM hung there."""
    try:
        yield
    finally:
        for iterator in iterators:
            iterator.close()


class SkipReport:
    """Collects the unreadable files reported by batches: warns once per file, counts them for the summary."""

    def __init__(self, write=print):
        self.seen: set[str] = set()
        self.write = write

    def update(self, batch: dict) -> None:
        for entry in batch["skipped"]:
            for msg in filter(None, entry.split("\n")):
                if msg not in self.seen:
                    self.seen.add(msg)
                    self.write(f"warning: skipped {msg}")

    def summary(self) -> str:
        return f"{len(self.seen)} unreadable file(s) skipped" if self.seen else ""
