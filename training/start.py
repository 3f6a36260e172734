"""What train.py starts from: the generator it fine-tunes and the photos' landmarks."""
from pathlib import Path

from models.conventions import CartoonGenerator
from models.released.pretrained import resolve_model
from models.zoo import build_generator, generator_from
from training import distributed
from utils.checkpoint import list_checkpoints, load_checkpoint
from utils.errors import UserError


def initial_generator(opts, write=print, resumed: dict | None = None) -> tuple[CartoonGenerator, dict | None]:
    """(G to train, its origin). Resuming (``resumed``: the checkpoint, read once by training.resume): G of its
    architecture (its weights are loaded by ``Run.resume``) and the origin it recorded; otherwise the start
    checkpoint's generator with its weights, and ``origin(start)``. The architecture (White-box's U-Net or the
    author's face model) comes from the file, never from a flag."""
    if resumed is not None:
        return build_generator(resumed.get("arch", {})), resumed.get("origin")
    path = start_checkpoint(opts, write)
    ckpt = load_checkpoint(path)
    return generator_from(ckpt, path).train(), origin(ckpt, opts.pretrained or path)


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


def anchor_generator(opts, write=print) -> CartoonGenerator:
    """The untouched starting generator, frozen (G0 of the style anchor, --w6, and of its guards, --w7 … --w9): the
    same file on every resume."""
    path = start_checkpoint(opts, lambda *_: None)
    G0 = generator_from(load_checkpoint(path), path)
    for p in G0.parameters():
        p.requires_grad_(False)
    write(f"style anchor (--w6 {opts.w6:g}, guards --w7 {opts.w7:g} --w8 {opts.w8:g} --w9 {opts.w9:g}): the outputs "
          f"of {path}, untouched")
    return G0


def start_checkpoint(opts, write=print) -> Path:
    """--pretrained (a registered model name such as 'whitebox' or 'facial', or a checkpoint path); without it,
    the pre_gen_batch_*.pth of --save_dir with the highest step, saying which and why, and warning when a file
    with a lower step was written later (a newer pretraining run that restarted its step count)."""
    if opts.pretrained is not None:
        path = resolve_model(opts.pretrained, write)
        why = f"--pretrained {opts.pretrained}"
    else:
        found = list_checkpoints(opts.save_dir, "pre_gen")
        if not found:
            raise UserError(f"no pretrained generator in {opts.save_dir} (pre_gen_batch_*.pth): run pretrain.py "
                            f"first or pass --pretrained whitebox (or a checkpoint path)")
        step, path = found[-1]
        why = f"highest pretraining step in {opts.save_dir}"
        newest = max(found, key=lambda sp: sp[1].stat().st_mtime)[1]
        if newest != path:
            write(f"warning: {newest.name} was written after {path.name}; pass --pretrained {newest} to start "
                  f"from it instead")
    write(f"generator initialised from {path} ({why})")
    return path


def face_landmarks(opts, d, write=print):
    """The photo folder's 68 landmarks from the cache, computed on first use (by rank 0 alone).

    dlib is imported here, not at the top: runs with --w5 0 never load it."""
    from utils.faces.landmark_cache import LandmarkCache, default_cache_file

    path = opts.landmark_cache or default_cache_file(opts.photo_dir, Path(opts.save_dir).parent / "landmark_cache")
    if d.main:
        cache = LandmarkCache(opts.photo_dir, path, opts.predictor, opts.workers)
    distributed.barrier()
    if not d.main:
        cache = LandmarkCache(opts.photo_dir, path, opts.predictor, 0)
    n = len(cache.points)
    write(f"landmarks: {n - cache.missing} of {n} photos have a face; {cache.missing} without one keep every "
          f"term but the landmark term ({cache.computed} computed, cache {path})")
    return cache


def landmark_view(opts, device):
    """The landmark term --landmark_view names (a choice of training.options.LANDMARK_VIEWS), built with its flags;
    the points views load their reader (--landmark_reader, else the shipped one). A new view: a class in losses/,
    a row here and its name in LANDMARK_VIEWS."""
    from losses.landmark import EdgeView
    from losses.landmark_points import PointsView
    from models.released.landmark_reader import load_landmark_reader

    views = {"edges": lambda: EdgeView(opts.landmark_sigma, False, opts.landmark_threshold),
             "surface": lambda: EdgeView(opts.landmark_sigma, True, opts.landmark_threshold),
             "points": lambda: PointsView(load_landmark_reader(opts.landmark_reader, device)),
             "surface_points": lambda: PointsView(load_landmark_reader(opts.landmark_reader, device), True)}
    return views[opts.landmark_view]()
