"""The 68 landmarks of every photo of a training folder, computed once (in parallel, in helper processes that each
hold one FaceLandmarks) and kept in a cache file; and ``map_with_landmarks``, the pool other tools use
(``utils.faces.prepare``)."""
import concurrent.futures as cf
import hashlib
import multiprocessing as mp
from pathlib import Path

import numpy as np

from utils.faces.dlib_models import PREDICTOR_68, model_file
from utils.faces.landmarks import FaceLandmarks
from utils.image_io import BadImage, list_images, read_image
from utils.progress import progress
from utils.runtime import helper_process

_worker: FaceLandmarks | None = None


def _init_worker(predictor, worker_process=False):
    global _worker
    if worker_process:
        helper_process()
    _worker = FaceLandmarks(predictor)


def worker_landmarks() -> FaceLandmarks:
    """The FaceLandmarks of this process, inside a function run by ``map_with_landmarks``."""
    return _worker


def map_with_landmarks(fn, items: list, predictor: str | None, workers: int, desc: str) -> list:
    """[fn(item) for item in items] with one FaceLandmarks per process (``worker_landmarks()``), in order, with a
    progress bar; on ``workers`` processes, or in this one when workers ≤ 1. ``fn`` must be module-level."""
    bar = dict(total=len(items), desc=desc, unit="img")
    if workers <= 1:
        _init_worker(predictor)
        return [fn(item) for item in progress(items, **bar)]
    # shut down through its queue, not by SIGTERM, which the helpers ignore (utils.runtime.helper_process)
    with cf.ProcessPoolExecutor(workers, mp.get_context("spawn"), _init_worker, (predictor, True)) as pool:
        return list(progress(pool.map(fn, items, chunksize=4), **bar))


def _landmarks_of(path) -> np.ndarray:
    try:
        points = _worker(read_image(path))
    except BadImage:
        points = None
    return np.full((68, 2), np.nan, np.float32) if points is None else points


def default_cache_file(root, cache_dir) -> Path:
    """One cache file per photo folder, next to the runs (the data set itself may be read-only)."""
    root = Path(root).resolve()
    return Path(cache_dir) / f"{root.name}-{hashlib.sha1(str(root).encode()).hexdigest()[:10]}.npz"


class LandmarkCache:
    """68 landmarks of every image under a folder, in one .npz keyed by relative path, size and mtime.

    Computed once (in parallel, with a progress bar), reused on the next run, refreshed for changed or new
    files. Images with no face (or unreadable) hold NaN and are counted in ``missing``.
    """

    def __init__(self, root, cache_file, predictor: str | None = None, workers: int = 0):
        self.root, self.file = Path(root), Path(cache_file)
        model_file(PREDICTOR_68, predictor)  # fail early, in this process, on a missing predictor
        files = list_images(self.root)
        keys = [(str(p.relative_to(self.root)), st.st_size, st.st_mtime) for p in files for st in [p.stat()]]
        old = self._read()
        self.points, todo = {}, []
        for path, key in zip(files, keys):
            hit = old.get(key[0])
            if hit is not None and hit[0] == key[1] and hit[1] == key[2]:
                self.points[key[0]] = hit[2]
            else:
                todo.append((path, key[0]))
        self.computed = len(todo)
        if todo:
            computed = map_with_landmarks(_landmarks_of, [p for p, _ in todo], predictor, workers, "landmarks")
            for (_, rel), points in zip(todo, computed):
                self.points[rel] = points
            self._write(keys)
        self.missing = sum(np.isnan(p).any() for p in self.points.values())

    def _read(self) -> dict:
        if not self.file.is_file():
            return {}
        try:
            with np.load(self.file, allow_pickle=False) as z:
                return {p: (s, m, pts) for p, s, m, pts in zip(z["paths"], z["sizes"], z["mtimes"], z["points"])}
        except (OSError, ValueError, KeyError):
            return {}  # a damaged cache is rebuilt

    def _write(self, keys) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_name(self.file.name + ".tmp.npz")
        np.savez(tmp, paths=np.array([k[0] for k in keys]), sizes=np.array([k[1] for k in keys], np.int64),
                 mtimes=np.array([k[2] for k in keys], np.float64),
                 points=np.stack([self.points[k[0]] for k in keys]).astype(np.float32))
        tmp.replace(self.file)

    def get(self, rel_path: str) -> np.ndarray | None:
        points = self.points.get(rel_path)
        return None if points is None or np.isnan(points).any() else points
