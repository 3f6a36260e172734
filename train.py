"""Train the cartooniser:
    python train.py --total_iter 30000 --model_version 1 --w0 1e5 --w1 2e-1 --w2 5 --w3 2e1 --w4 6e-1

Starts from the newest checkpoints/saved_models/pre_gen_batch_*.pth (or --pretrained NAME|PATH) and writes
checkpoints/saved_models/gen{model_version}_batch_{step}.pth (G, both Ds, both optimisers, step, options, RNG)
every --save_every steps and at the end, and checkpoints/logs/gen{model_version}/ with options.json,
losses.jsonl and samples/ (photo | output | superpixel | surface blur | texture gray).
Several processes: torchrun --nproc_per_node N train.py ... (--batch_size is per process).
"""
from training.options import parse_training_options, train_parser
from utils.errors import UserError, cli


@cli
def main(argv=None):
    # before torch: --help and --dry-run answer at once (torch loads only to read a checkpoint to resume)
    opts = parse_training_options(train_parser, argv, prefix_of=lambda o: f"gen{o.model_version}")
    return None if opts is None else train(opts)


def train(opts):
    # imported here, after the arguments are parsed: --help never waits for torch
    import contextlib

    import torch
    from tqdm import tqdm

    from datasets.folder import ImageFolder, SkipReport, batches, workers_stopped_after
    from losses.superpixel import Superpixels
    from losses.weights import LossWeights
    from models.discriminator import PatchDiscriminator
    from models.landmark_reader import load_landmark_reader
    from models.vgg import build_vgg
    from training import distributed
    from training.held_out import HeldOut
    from training.run import Run, training_state
    from training.start import anchor_generator, face_landmarks, initial_generator
    from training.steps import POINT_VIEWS, FaceSettings, Nets, d_warmup_step, representations, train_step
    from utils.flags import max_pixels
    from utils.progress import progress
    from utils.provenance import provenance
    from utils.runtime import Precision, seed_everything

    prefix = f"gen{opts.model_version}"
    d, device = distributed.setup(opts.device, opts.dist_timeout)
    write = tqdm.write if d.main else (lambda *_: None)
    seed_everything(opts.seed + d.rank)
    photos = ImageFolder(opts.photo_dir, opts.image_size, max_pixels=max_pixels(opts))
    cartoons = ImageFolder(opts.cartoon_dir, opts.image_size, max_pixels=max_pixels(opts))
    for folder in (photos, cartoons):
        if folder.other_files and d.main:
            write(f"{folder.root}: {folder.other_files}")
    precision = Precision.choose(device, opts.precision, opts.channels_last, write if d.main else None)
    G, origin = initial_generator(opts, write)
    if opts.image_size % G.size_multiple:
        raise UserError(f"--image_size {opts.image_size}: the {G.name} generator needs a multiple of "
                        f"{G.size_multiple}")
    G, D_texture, D_surface = G.to(device), PatchDiscriminator(1).to(device), PatchDiscriminator(3).to(device)
    betas = (opts.beta1, opts.beta2)
    weights = LossWeights.from_flags(opts)
    face = FaceSettings(opts.landmark_sigma, opts.landmark_view, opts.anchor_free, opts.landmark_threshold)
    uses_vgg = weights.content > 0 or weights.structure > 0  # else no VGG19 is built (nor downloaded)
    vgg = build_vgg(opts.vgg_weights, device, write if d.main else None) if uses_vgg else None
    nets = Nets(G, D_texture, D_surface, vgg, torch.optim.Adam(G.parameters(), opts.lr, betas=betas),
                torch.optim.Adam([*D_texture.parameters(), *D_surface.parameters()], opts.lr, betas=betas))
    if weights.holds_to_start:
        nets.anchor = precision.layout(anchor_generator(opts, write).to(device))
    if weights.landmark > 0 and opts.landmark_view in POINT_VIEWS:
        nets.reader = load_landmark_reader(opts.landmark_reader, device)

    held_out = (HeldOut(opts.eval_dir, opts.eval_num, opts.predictor, write=write, max_pixels=max_pixels(opts))
                if opts.eval_dir and d.main else None)

    with Run(opts, prefix, write=write, writes=d.main, provenance=provenance(device)) as run:
        start = run.resume("train", nets.parts(), precision, d)
        needs_points = weights.landmark > 0 or (weights.anchor > 0 and opts.anchor_free > 0)
        photos.landmarks = face_landmarks(opts, d, write) if needs_points else None
        nets.G, nets.D_texture, nets.D_surface = (distributed.wrap(precision.layout(m), d, device)
                                                  for m in (G, D_texture, D_surface))
        nets.vgg = precision.layout(vgg) if vgg is not None else None
        method = opts.superpixel if opts.superpixel != "auto" else ("torch" if device.type == "cuda" else "skimage")
        superpixels = Superpixels(opts.superpixel_workers, opts.use_enhance, method)
        skips = SkipReport(write)
        loader = dict(workers=opts.workers, flip=opts.flip, rank=d.rank, world=d.world,
                      pin_memory=device.type == "cuda")
        photo_batches = batches(photos, opts.batch_size, opts.seed, start, **loader)
        cartoon_batches = batches(cartoons, opts.batch_size, opts.seed + 1, start, **loader)
        step = start
        with distributed.guard(), contextlib.closing(superpixels), \
                workers_stopped_after(photo_batches, cartoon_batches), \
                progress(initial=start, total=opts.total_iter, desc=prefix, unit="step", disable=not d.main) as bar:
            for step in range(start + 1, opts.total_iter + 1):
                photo_batch, cartoon_batch = next(photo_batches), next(cartoon_batches)
                skips.update(photo_batch)
                skips.update(cartoon_batch)
                photo = precision.layout(photo_batch["image"].to(device, non_blocking=True))
                cartoon = precision.layout(cartoon_batch["image"].to(device, non_blocking=True))
                if step <= opts.d_warmup:  # discriminators only, G frozen
                    losses = d_warmup_step(photo, cartoon, nets, precision, opts.train_d_times)
                else:
                    losses = train_step(photo, cartoon, nets, weights, precision, superpixels,
                                        photo_batch.get("points"), face, opts.train_d_times)
                if run.record(step, losses):
                    bar.set_postfix({k: f"{losses[k]:.3f}" for k in ("g_total", "d_total") if k in losses})
                if d.main and (step % opts.sample_every == 0 or step == opts.total_iter):
                    run.sample(step, representations(photo[:4], G, superpixels))
                if held_out is not None and (step % opts.eval_every == 0 or step == opts.total_iter):
                    run.log_evaluation(step, *held_out(G, device, precision))
                state = lambda: training_state("train", opts, nets.parts(), precision,  # noqa: E731
                                               vgg=vgg.source if vgg is not None else "none", origin=origin)
                stop = run.end_step(step, state, device)
                bar.update()  # after the checkpoint: a stopped run's bar ends at the step it saved
                if stop:
                    break
        run.finish(step, skips, "training")
    return run.exit_code


if __name__ == "__main__":
    main()
