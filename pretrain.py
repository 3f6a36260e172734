"""Pretrain the generator to reconstruct photos:  python pretrain.py --total_iter 50000

Writes checkpoints/saved_models/pre_gen_batch_{step}.pth every --save_every steps and at the end, and
checkpoints/logs/pre_gen/{options.json, losses.jsonl, samples/} (photo | reconstruction grids).
Several processes: torchrun --nproc_per_node N pretrain.py ... (--batch_size is per process).
"""
from training.options import parse_training_options, pretrain_parser
from utils.errors import cli

PREFIX = "pre_gen"


@cli
def main(argv=None):
    # before torch: --help and --dry-run answer at once (torch loads only to read a checkpoint to resume)
    opts = parse_training_options(pretrain_parser, argv)
    return None if opts is None else pretrain(opts)


def pretrain(opts):
    # imported here, after the arguments are parsed: --help never waits for torch
    import torch
    from tqdm import tqdm

    from datasets.folder import ImageFolder, SkipReport, batches, workers_stopped_after
    from models.generator import Generator
    from training import distributed
    from training.run import Run, training_state
    from training.steps import pretrain_step
    from utils.flags import max_pixels
    from utils.progress import progress
    from utils.provenance import provenance
    from utils.runtime import Precision, seed_everything

    d, device = distributed.setup(opts.device, opts.dist_timeout)
    write = tqdm.write if d.main else (lambda *_: None)
    seed_everything(opts.seed + d.rank)
    photos = ImageFolder(opts.photo_dir, opts.image_size, max_pixels=max_pixels(opts))
    if photos.other_files and d.main:
        write(f"{opts.photo_dir}: {photos.other_files}")
    G = Generator(opts.channel, opts.num_blocks).to(device)
    opt_G = torch.optim.Adam(G.parameters(), opts.lr, betas=(opts.beta1, opts.beta2))
    precision = Precision.choose(device, opts.precision, opts.channels_last, write if d.main else None)
    parts = {"G": G, "opt_G": opt_G}

    with Run(opts, PREFIX, write=write, writes=d.main, provenance=provenance(device)) as run:
        start = run.resume("pretrain", parts, precision, d)
        G = distributed.wrap(precision.layout(G), d, device)
        skips = SkipReport(write)
        data = batches(photos, opts.batch_size, opts.seed, start, opts.workers, opts.flip, d.rank, d.world,
                       pin_memory=device.type == "cuda")
        step = start
        with distributed.guard(), workers_stopped_after(data), \
                progress(initial=start, total=opts.total_iter, unit="step", desc="pretrain", disable=not d.main) as bar:
            for step in range(start + 1, opts.total_iter + 1):
                batch = next(data)
                skips.update(batch)
                photo = precision.layout(batch["image"].to(device, non_blocking=True))
                losses = pretrain_step(photo, G, opt_G, precision)
                if run.record(step, losses):
                    bar.set_postfix(l1=f"{losses['l1']:.4f}")
                if step % opts.sample_every == 0 or step == opts.total_iter:
                    with torch.no_grad():
                        run.sample(step, [photo[:4], distributed.unwrap(G)(photo[:4])])
                stop = run.end_step(step, lambda: training_state("pretrain", opts, parts, precision), device)
                bar.update()  # after the checkpoint: a stopped run's bar ends at the step it saved
                if stop:
                    break
        run.finish(step, skips, "pretraining")
    return run.exit_code


if __name__ == "__main__":
    main()
