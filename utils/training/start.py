"""What train.py starts from: the generator it fine-tunes and the photos' landmarks."""
from pathlib import Path

from utils.checkpoint import list_checkpoints, load_checkpoint, load_state
from utils.errors import UserError
from utils.inference.pretrained import resolve_model
from utils.training import distributed


def initial_generator(opts, G, write=print) -> Path:
    """Load --pretrained (a registered model name such as 'whitebox', or a checkpoint path) into G; without it,
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
    load_state(G, load_checkpoint(path)["G"], path, "G")
    write(f"generator initialised from {path} ({why})")
    return path


def face_landmarks(opts, d, write=print):
    """The photo folder's 68 landmarks from the cache, computed on first use (by rank 0 alone).

    dlib is imported here, not at the top: runs with --w5 0 never load it."""
    from utils.faces.landmarks import LandmarkCache, default_cache_file

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
