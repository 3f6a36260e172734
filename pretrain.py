"""Pretrain the generator to reconstruct photos:  python pretrain.py --total_iter 50000

Writes checkpoints/saved_models/pre_gen_batch_{step}.pth every --save_every steps and at the end, and
checkpoints/logs/pre_gen/{options.json, losses.jsonl, samples/} (photo | reconstruction grids).
"""
import json

import torch
from tqdm import tqdm

from datasets.folder import ImageFolder, SkipReport, batches
from models.generator import Generator
from utils.checkpoint import capture_rng, load_state, restore_rng
from utils.errors import cli
from utils.options import check_training_options, pretrain_parser
from utils.run import Run, find_resume, load_for_resume
from utils.runtime import Precision, pick_device, seed_everything
from utils.steps import pretrain_step

PREFIX = "pre_gen"


@cli
def main(argv=None):
    parser = pretrain_parser()
    opts = check_training_options(parser, parser.parse_args(argv))
    if opts.dry_run:
        print(json.dumps(vars(opts), indent=2, sort_keys=True))
        return
    device = pick_device(opts.device)
    seed_everything(opts.seed)
    photos = ImageFolder(opts.photo_dir, opts.image_size)
    G = Generator(opts.channel, opts.num_blocks).to(device)
    opt_G = torch.optim.Adam(G.parameters(), opts.lr, betas=(opts.beta1, opts.beta2))
    precision = Precision(device, opts.amp)

    start, resume = 0, find_resume(opts, PREFIX)
    if resume:
        ckpt = load_for_resume(resume, "pretrain", opts, tqdm.write)
        load_state(G, ckpt["G"], resume, "G")
        load_state(opt_G, ckpt["opt_G"], resume, "opt_G")
        precision.load_state_dict(ckpt["scaler"])
        restore_rng(ckpt["rng"])
        start = ckpt["step"]
        print(f"resuming from {resume} (step {start})")

    def state():
        return {"kind": "pretrain", "arch": {"channel": opts.channel, "num_blocks": opts.num_blocks},
                "G": G.state_dict(), "opt_G": opt_G.state_dict(), "scaler": precision.state_dict(),
                "rng": capture_rng()}

    run = Run(opts, PREFIX, write=tqdm.write)
    skips = SkipReport(tqdm.write)
    data = batches(photos, opts.batch_size, opts.seed, start, opts.workers, opts.flip,
                   pin_memory=device.type == "cuda")
    step = start
    bar = tqdm(range(start + 1, opts.total_iter + 1), initial=start, total=opts.total_iter, desc="pretrain")
    for step in bar:
        batch = next(data)
        skips.update(batch)
        photo = batch["image"].to(device, non_blocking=True)
        losses = pretrain_step(photo, G, opt_G, precision)
        if run.record(step, losses):
            bar.set_postfix(l1=f"{losses['l1']:.4f}")
        if step % opts.sample_every == 0 or step == opts.total_iter:
            with torch.no_grad():
                run.sample(step, [photo[:4], G(photo[:4])])
        if step % opts.save_every == 0 or step == opts.total_iter or run.should_stop():
            run.save(step, state())
        if run.should_stop():
            break
    bar.close()
    if skips.summary():
        print(skips.summary())
    run.close(step)
    print(f"pretraining done at step {step}: {run.last_saved}")


if __name__ == "__main__":
    main()
