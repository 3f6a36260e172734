"""What train.py starts from: the generator it fine-tunes and the photos' landmarks."""
from pathlib import Path

from models.conventions import CartoonGenerator
from models.released.pretrained import resolve_model
from models.zoo import build_generator, generator_from
from training import distributed
from utils.checkpoint import list_checkpoints, load_checkpoint
from utils.errors import UserError


def initial_generator(pretrained: str | None, save_dir, write=print, resumed: dict | None = None
                      ) -> tuple[CartoonGenerator, dict | None]:
    """(G to train, its origin). Resuming (``resumed``: the checkpoint, read once by training.resume): G of its
    architecture (its weights are loaded by ``Run.resume``) and the origin it recorded; otherwise the start
    checkpoint's generator with its weights, and ``origin(start)``. The architecture (White-box's U-Net or the
    author's face model) comes from the file, never from a flag."""
    if resumed is not None:
        return build_generator(resumed.get("arch", {})), resumed.get("origin")
    path = start_checkpoint(pretrained, save_dir, write)
    ckpt = load_checkpoint(path)
    return generator_from(ckpt, path).train(), origin(ckpt, pretrained or path)


def origin(start: dict, name) -> dict:
    """What a training run starts from, as its checkpoints record it: the model's name, its kind, and the
    adversarial training steps already in it (``steps``: None for a released model, which is a finished cartoon
    model; 0 for a pretraining checkpoint, which only reconstructs photos). test.py's short-run caption counts
    them with the run's own."""
    kind = start.get("kind")
    if kind == "released":
        steps = None
    elif kind == "train":
        before = (start.get("origin") or {}).get("steps", 0)
        steps = None if before is None else start.get("step", 0) + before
    else:
        steps = 0
    return {"model": str(name), "kind": kind, "steps": steps}


def anchor_generator(pretrained: str | None, save_dir, weights: str = "", write=print) -> CartoonGenerator:
    """The untouched starting generator, frozen (G0 of the style anchor, --w6, and of its guards, --w7 … --w9): the
    same file on every resume. ``weights``: the terms' weights as the line that announces it says them."""
    path = start_checkpoint(pretrained, save_dir, lambda *_: None)
    G0 = generator_from(load_checkpoint(path), path)
    for p in G0.parameters():
        p.requires_grad_(False)
    write(f"style anchor ({weights}): the outputs of {path}, untouched")
    return G0


def start_checkpoint(pretrained: str | None, save_dir, write=print) -> Path:
    """--pretrained (a registered model name such as 'whitebox' or 'facial', or a checkpoint path); without it,
    the pre_gen_batch_*.pth of --save_dir with the highest step, saying which and why, and warning when a file
    with a lower step was written later (a newer pretraining run that restarted its step count)."""
    if pretrained is not None:
        path = resolve_model(pretrained, write)
        why = f"--pretrained {pretrained}"
    else:
        found = list_checkpoints(save_dir, "pre_gen")
        if not found:
            raise UserError(f"no pretrained generator in {save_dir} (pre_gen_batch_*.pth): run pretrain.py "
                            f"first or pass --pretrained whitebox (or a checkpoint path)")
        step, path = found[-1]
        why = f"highest pretraining step in {save_dir}"
        newest = max(found, key=lambda sp: sp[1].stat().st_mtime)[1]
        if newest != path:
            write(f"warning: {newest.name} was written after {path.name}; pass --pretrained {newest} to start "
                  f"from it instead")
    write(f"generator initialised from {path} ({why})")
    return path


def face_landmarks(photo_dir, cache_file, save_dir, predictor: str | None, workers: int, d, write=print):
    """The photo folder's 68 landmarks from the cache (``cache_file``, else one named after the folder beside
    ``save_dir``), computed on first use (by rank 0 alone, with ``workers`` processes).

    dlib is imported here, not at the top: runs with --w5 0 never load it."""
    from utils.faces.landmark_cache import LandmarkCache, default_cache_file

    path = cache_file or default_cache_file(photo_dir, Path(save_dir).parent / "landmark_cache")
    if d.main:
        cache = LandmarkCache(photo_dir, path, predictor, workers)
    distributed.barrier()
    if not d.main:
        cache = LandmarkCache(photo_dir, path, predictor, 0)
    n = len(cache.points)
    write(f"landmarks: {n - cache.missing} of {n} photos have a face; {cache.missing} without one keep every "
          f"term but the landmark term ({cache.computed} computed, cache {path})")
    return cache


def landmark_view(view: str, sigma: float, threshold: float, reader: str | None, device):
    """The landmark term ``view`` names (--landmark_view, a choice of training.options.LANDMARK_VIEWS): the edge
    views with the heatmaps' σ and the edge threshold, the points views with their reader (the state dict at
    ``reader``, else the shipped one). A new view: a class in losses/, a row here and its name in LANDMARK_VIEWS."""
    from losses.landmark import EdgeView
    from losses.landmark_points import PointsView
    from models.released.landmark_reader import load_landmark_reader

    views = {"edges": lambda: EdgeView(sigma, False, threshold),
             "surface": lambda: EdgeView(sigma, True, threshold),
             "points": lambda: PointsView(load_landmark_reader(reader, device)),
             "surface_points": lambda: PointsView(load_landmark_reader(reader, device), True)}
    return views[view]()
