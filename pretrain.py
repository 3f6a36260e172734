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
    parsed = parse_training_options(pretrain_parser, argv)
    return None if parsed is None else pretrain(*parsed)


def pretrain(opts, resumed: dict | None = None):
    # imported here, after the arguments are parsed: --help never waits for torch
    import torch

    from models.generator import Generator
    from training import distributed
    from training.loop import Session, Steps, checkpoint_state, training_loop
    from training.steps import pretrain_step
    from utils.flags import max_pixels

    s = Session.begin(opts)
    photos = s.folder(opts.photo_dir, opts.image_size, max_pixels(opts))
    G = Generator(opts.channel, opts.num_blocks).to(s.device)
    opt_G = torch.optim.Adam(G.parameters(), opts.lr, betas=(opts.beta1, opts.beta2))
    parts = {"G": G, "opt_G": opt_G}

    def prepare(start: int) -> Steps:
        wrapped = distributed.wrap(s.precision.layout(G), s.d, s.device)

        def columns(now):
            with torch.no_grad():
                photo = s.images(now[0])[:4]
                return [photo, G(photo)]

        return Steps(step=lambda step, now: pretrain_step(s.images(now[0]), wrapped, opt_G, s.precision),
                     state=checkpoint_state("pretrain", opts, parts, s.precision), columns=columns, shown=("l1",))

    return training_loop(opts, s, PREFIX, parts, [photos], prepare, "pretraining", resumed=resumed,
                         desc="pretrain")


if __name__ == "__main__":
    main()
