"""Train the cartooniser:
    python train.py --total_iter 30000 --model_version 1 --w0 1e5 --w1 2e-1 --w2 5 --w3 2e1 --w4 6e-1

Starts from the newest checkpoints/saved_models/pre_gen_batch_*.pth (or --pretrained) and writes
checkpoints/saved_models/gen{model_version}_batch_{step}.pth (G, both Ds, both optimisers, step, options, RNG)
every --save_every steps and at the end, and checkpoints/logs/gen{model_version}/ with options.json,
losses.jsonl and samples/ (photo | output | superpixel | surface blur | texture gray).
Several processes: torchrun --nproc_per_node N train.py ... (--batch_size is per process).
"""
import contextlib
from pathlib import Path

import torch
from tqdm import tqdm

from datasets.folder import ImageFolder, SkipReport, batches
from losses.landmark import heatmaps, landmark_loss
from models.discriminator import PatchDiscriminator
from models.generator import Generator
from models.vgg import build_vgg
from utils import distributed
from utils.checkpoint import list_checkpoints, load_checkpoint, load_state
from utils.errors import UserError, cli
from utils.landmarks import LandmarkCache, default_cache_file
from utils.options import parse_training_options, train_parser
from utils.run import Run, find_resume, load_for_resume, restore_training_state, training_state
from utils.runtime import Precision, seed_everything
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
    load_state(G, load_checkpoint(path)["G"], path, "G")
    write(f"generator initialised from {path}")


def face_landmarks(opts, d, write) -> LandmarkCache:
    """The photo folder's 68 landmarks from the cache, computed on first use (by rank 0 alone)."""
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


@cli
def main(argv=None):
    opts = parse_training_options(train_parser(), argv)
    if opts is None:
        return
    prefix = f"gen{opts.model_version}"
    d, device = distributed.setup(opts.device, opts.dist_timeout)
    write = tqdm.write if d.main else (lambda *_: None)
    seed_everything(opts.seed + d.rank)
    photos = ImageFolder(opts.photo_dir, opts.image_size)
    cartoons = ImageFolder(opts.cartoon_dir, opts.image_size)
    fmt = torch.channels_last if opts.channels_last else torch.contiguous_format
    G = Generator(opts.channel, opts.num_blocks).to(device, memory_format=fmt)
    D_texture = PatchDiscriminator(1).to(device, memory_format=fmt)
    D_surface = PatchDiscriminator(3).to(device, memory_format=fmt)
    betas = (opts.beta1, opts.beta2)
    nets = Nets(G, D_texture, D_surface, build_vgg(opts.vgg_weights, device).to(memory_format=fmt),
                torch.optim.Adam(G.parameters(), opts.lr, betas=betas),
                torch.optim.Adam([*D_texture.parameters(), *D_surface.parameters()], opts.lr, betas=betas))
    precision = Precision(device, opts.amp)
    parts = {"G": G, "D_texture": D_texture, "D_surface": D_surface, "opt_G": nets.opt_G, "opt_D": nets.opt_D}

    start, resume = 0, find_resume(opts, prefix)
    if resume:
        start = restore_training_state(load_for_resume(resume, "train", opts, write), resume, parts, precision, d,
                                       write)
        write(f"resuming from {resume} (step {start})")
    else:
        pretrained_generator(opts, G, write)
    landmarks = photos.landmarks = face_landmarks(opts, d, write) if opts.w5 > 0 else None  # after cheap checks
    nets.G, nets.D_texture, nets.D_surface = (distributed.wrap(m, d, device) for m in (G, D_texture, D_surface))

    method = opts.superpixel if opts.superpixel != "auto" else ("torch" if device.type == "cuda" else "skimage")
    superpixels = Superpixels(opts.superpixel_workers, opts.use_enhance, method)
    run = Run(opts, prefix, write=write, writes=d.main)
    skips = SkipReport(write)
    pin = device.type == "cuda"
    photo_batches = batches(photos, opts.batch_size, opts.seed, start, opts.workers, opts.flip, d.rank, d.world,
                            pin_memory=pin)
    cartoon_batches = batches(cartoons, opts.batch_size, opts.seed + 1, start, opts.workers, opts.flip, d.rank,
                              d.world, pin_memory=pin)
    step = start
    with distributed.guard(), contextlib.closing(superpixels), \
            tqdm(range(start + 1, opts.total_iter + 1), initial=start, total=opts.total_iter, desc=prefix,
                 disable=not d.main) as bar:
        for step in bar:
            photo_batch, cartoon_batch = next(photo_batches), next(cartoon_batches)
            skips.update(photo_batch)
            skips.update(cartoon_batch)
            photo = photo_batch["image"].to(device, non_blocking=True).contiguous(memory_format=fmt)
            cartoon = cartoon_batch["image"].to(device, non_blocking=True).contiguous(memory_format=fmt)
            landmark_fn = None
            if landmarks is not None:
                maps = heatmaps(photo_batch["points"].to(device), opts.image_size,
                                opts.landmark_sigma * opts.image_size)
                landmark_fn = lambda fake: landmark_loss(fake, photo, maps)  # noqa: E731
            losses = train_step(photo, cartoon, nets, opts, precision, superpixels, landmark_fn)
            if run.record(step, losses):
                bar.set_postfix(g=f"{losses['g_total']:.3f}", d=f"{losses['d_total']:.3f}")
            if d.main and (step % opts.sample_every == 0 or step == opts.total_iter):
                run.sample(step, representations(photo[:4], G, superpixels))
            if run.end_step(step, lambda: training_state("train", opts, parts, precision), device):
                break
    run.finish(step, skips, "training")

if __name__ == "__main__":
    main()
