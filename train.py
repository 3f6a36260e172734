"""Train the cartooniser:
    python train.py --total_iter 30000 --model_version 1 --w0 1e5 --w1 2e-1 --w2 5 --w3 2e1 --w4 6e-1

Starts from the newest checkpoints/saved_models/pre_gen_batch_*.pth (or --pretrained) and writes
checkpoints/saved_models/gen{model_version}_batch_{step}.pth (G, both Ds, both optimisers, step, options, RNG)
every --save_every steps and at the end, and checkpoints/logs/gen{model_version}/ with options.json,
losses.jsonl and samples/ (photo | output | superpixel | surface blur | texture gray).
"""
import json
from pathlib import Path

import torch
from tqdm import tqdm

from datasets.folder import ImageFolder, SkipReport, batches
from losses.landmark import heatmaps, landmark_loss
from models.discriminator import PatchDiscriminator
from models.generator import Generator
from models.vgg import build_vgg
from utils.checkpoint import capture_rng, list_checkpoints, load_checkpoint, load_state, restore_rng
from utils.errors import UserError, cli
from utils.landmarks import LandmarkCache, default_cache_file
from utils.options import check_training_options, train_parser
from utils.run import Run, find_resume, load_for_resume
from utils.runtime import Precision, pick_device, seed_everything
from utils.steps import Nets, representations, train_step
from utils.superpixel import Superpixels


def pretrained_generator(opts, G, write) -> None:
    """Load --pretrained, or the newest pre_gen_batch_*.pth of --save_dir, into G."""
    path = opts.pretrained
    if path is None:
        found = list_checkpoints(opts.save_dir, "pre_gen")
        if not found:
            raise UserError(f"no pretrained generator in {opts.save_dir} (pre_gen_batch_*.pth): run pretrain.py "
                            f"first or pass --pretrained PATH")
        path = found[-1][1]
    ckpt = load_checkpoint(path)
    load_state(G, ckpt["G"], path, "G")
    write(f"generator initialised from {path}")


def face_landmarks(opts) -> LandmarkCache:
    """The photo folder's 68 landmarks, from the cache (computed on first use)."""
    path = opts.landmark_cache or default_cache_file(opts.photo_dir, Path(opts.save_dir).parent / "landmark_cache")
    cache = LandmarkCache(opts.photo_dir, path, opts.predictor, opts.workers)
    n = len(cache.points)
    print(f"landmarks: {n - cache.missing} of {n} photos have a face; {cache.missing} without one keep every "
          f"term but the landmark term ({cache.computed} computed, cache {path})")
    return cache


@cli
def main(argv=None):
    parser = train_parser()
    opts = check_training_options(parser, parser.parse_args(argv))
    if opts.dry_run:
        print(json.dumps(vars(opts), indent=2, sort_keys=True))
        return
    prefix = f"gen{opts.model_version}"
    device = pick_device(opts.device)
    seed_everything(opts.seed)
    photos = ImageFolder(opts.photo_dir, opts.image_size)
    cartoons = ImageFolder(opts.cartoon_dir, opts.image_size)
    G = Generator(opts.channel, opts.num_blocks).to(device)
    D_texture, D_surface = PatchDiscriminator(1).to(device), PatchDiscriminator(3).to(device)
    betas = (opts.beta1, opts.beta2)
    nets = Nets(G, D_texture, D_surface, build_vgg(opts.vgg_weights, device),
                torch.optim.Adam(G.parameters(), opts.lr, betas=betas),
                torch.optim.Adam([*D_texture.parameters(), *D_surface.parameters()], opts.lr, betas=betas))
    precision = Precision(device, opts.amp)

    start, resume = 0, find_resume(opts, prefix)
    if resume:
        ckpt = load_for_resume(resume, "train", opts, tqdm.write)
        for name in ("G", "D_texture", "D_surface", "opt_G", "opt_D"):
            load_state(getattr(nets, name), ckpt[name], resume, name)
        precision.load_state_dict(ckpt["scaler"])
        restore_rng(ckpt["rng"])
        start = ckpt["step"]
        print(f"resuming from {resume} (step {start})")
    else:
        pretrained_generator(opts, G, print)
    landmarks = photos.landmarks = face_landmarks(opts) if opts.w5 > 0 else None  # after the cheap checks

    def state():
        return {"kind": "train", "arch": {"channel": opts.channel, "num_blocks": opts.num_blocks},
                **{name: getattr(nets, name).state_dict()
                   for name in ("G", "D_texture", "D_surface", "opt_G", "opt_D")},
                "scaler": precision.state_dict(), "rng": capture_rng()}

    method = opts.superpixel if opts.superpixel != "auto" else ("torch" if device.type == "cuda" else "skimage")
    superpixels = Superpixels(opts.superpixel_workers, opts.use_enhance, method)
    run = Run(opts, prefix, write=tqdm.write)
    skips = SkipReport(tqdm.write)
    pin = device.type == "cuda"
    photo_batches = batches(photos, opts.batch_size, opts.seed, start, opts.workers, opts.flip, pin_memory=pin)
    cartoon_batches = batches(cartoons, opts.batch_size, opts.seed + 1, start, opts.workers, opts.flip,
                              pin_memory=pin)
    step = start
    bar = tqdm(range(start + 1, opts.total_iter + 1), initial=start, total=opts.total_iter, desc=prefix)
    try:
        for step in bar:
            photo_batch, cartoon_batch = next(photo_batches), next(cartoon_batches)
            skips.update(photo_batch)
            skips.update(cartoon_batch)
            photo = photo_batch["image"].to(device, non_blocking=True)
            cartoon = cartoon_batch["image"].to(device, non_blocking=True)
            landmark_fn = None
            if landmarks is not None:
                maps = heatmaps(photo_batch["points"].to(device), opts.image_size,
                                opts.landmark_sigma * opts.image_size)
                landmark_fn = lambda fake: landmark_loss(fake, photo, maps)  # noqa: E731
            losses = train_step(photo, cartoon, nets, opts, precision, superpixels, landmark_fn)
            if run.record(step, losses):
                bar.set_postfix(g=f"{losses['g_total']:.3f}", d=f"{losses['d_total']:.3f}")
            if step % opts.sample_every == 0 or step == opts.total_iter:
                run.sample(step, representations(photo[:4], G, superpixels))
            if step % opts.save_every == 0 or step == opts.total_iter or run.should_stop():
                run.save(step, state())
            if run.should_stop():
                break
    finally:
        superpixels.close()
    bar.close()
    if skips.summary():
        print(skips.summary())
    run.close(step)
    print(f"training done at step {step}: {run.last_saved}")


if __name__ == "__main__":
    main()
