"""Pretrain the generator to reconstruct photos:  python pretrain.py --total_iter 50000

Writes checkpoints/saved_models/pre_gen_batch_{step}.pth every --save_every steps and at the end, and
checkpoints/logs/pre_gen/{options.json, losses.jsonl, samples/} (photo | reconstruction grids).
Several processes: torchrun --nproc_per_node N pretrain.py ... (--batch_size is per process).
"""

import torch
from tqdm import tqdm

from datasets.folder import ImageFolder, SkipReport, batches
from models.generator import Generator
from utils import distributed
from utils.errors import cli
from utils.options import parse_training_options, pretrain_parser
from utils.run import Run, find_resume, load_for_resume, restore_training_state, training_state
from utils.runtime import Precision, seed_everything
from utils.steps import pretrain_step

PREFIX = "pre_gen"


@cli
def main(argv=None):
    opts = parse_training_options(pretrain_parser(), argv)
    if opts is None:
        return
    d, device = distributed.setup(opts.device, opts.dist_timeout)
    seed_everything(opts.seed + d.rank)
    photos = ImageFolder(opts.photo_dir, opts.image_size)
    G = distributed.wrap(Generator(opts.channel, opts.num_blocks).to(device), d, device)
    opt_G = torch.optim.Adam(G.parameters(), opts.lr, betas=(opts.beta1, opts.beta2))
    precision = Precision(device, opts.amp)
    parts = {"G": G, "opt_G": opt_G}
    write = tqdm.write if d.main else (lambda *_: None)

    start, resume = 0, find_resume(opts, PREFIX)
    if resume:
        start = restore_training_state(load_for_resume(resume, "pretrain", opts, write), resume, parts,
                                       precision, d, write)
        write(f"resuming from {resume} (step {start})")

    run = Run(opts, PREFIX, write=write, writes=d.main)
    skips = SkipReport(write)
    data = batches(photos, opts.batch_size, opts.seed, start, opts.workers, opts.flip, d.rank, d.world,
                   pin_memory=device.type == "cuda")
    step = start
    with distributed.guard(), tqdm(range(start + 1, opts.total_iter + 1), initial=start, total=opts.total_iter,
                                   desc="pretrain", disable=not d.main) as bar:
        for step in bar:
            batch = next(data)
            skips.update(batch)
            photo = batch["image"].to(device, non_blocking=True)
            losses = pretrain_step(photo, G, opt_G, precision)
            if run.record(step, losses):
                bar.set_postfix(l1=f"{losses['l1']:.4f}")
            if step % opts.sample_every == 0 or step == opts.total_iter:
                with torch.no_grad():
                    run.sample(step, [photo[:4], distributed.unwrap(G)(photo[:4])])
            if run.end_step(step, lambda: training_state("pretrain", opts, parts, precision), device):
                break
    run.finish(step, skips, "pretraining")

if __name__ == "__main__":
    main()
