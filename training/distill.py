"""Distil a real-time face model from a teacher:

    python -m training.distill --photo_dir ../shared/data/selfie2anime/photo --total_iter 20000 --model_version 1

A FaceGenerator of --channel 16 (1.05 GFLOP at 256², a quarter of the 32-channel teacher's 4.05) learns to draw
the teacher's cartoons (--teacher, default the shipped ``facial_landmarks``) of face photos, the last --holdout
of which are never trained on. The loss (``losses/distill.py``): L1 to the teacher's output, L1 of its pixel
differences (ink lines; weight --edges) and the student's shading where the teacher is flat (weight --flat).
Adam, the learning rate on a cosine from --lr to 0 over --total_iter (a function of the step, so a resumed run
continues it exactly).

Writes checkpoints/saved_models/live{model_version}_batch_{step}.pth (the student, its optimiser, step, options,
RNG, and the teacher it was distilled from) every --save_every steps and at the end, and
checkpoints/logs/live{model_version}/ (options.json, losses.jsonl, samples: photo | teacher | student). Resumes
with --resume, stops cleanly on SIGINT/SIGTERM, as train.py. When the teacher changes, the same command distils
again from it.
"""
from training.options import distill_parser, parse_training_options
from utils.errors import cli


@cli
def main(argv=None):
    # before torch: --help and --dry-run answer at once
    opts = parse_training_options(distill_parser, argv, prefix_of=lambda o: f"live{o.model_version}")
    return None if opts is None else distill(opts)


def learning_rate(step: int, total: int, base: float) -> float:
    """Cosine from ``base`` at step 1 to 0 after ``total``."""
    import math

    return base * 0.5 * (1 + math.cos(math.pi * (step - 1) / total))


def distill(opts):
    import torch
    from tqdm import tqdm

    from datasets.folder import ImageFolder, SkipReport, batches, workers_stopped_after
    from models.face_generator import FaceGenerator
    from models.prune import thinner
    from models.released.pretrained import resolve_model
    from models.zoo import generator_from
    from training import distributed
    from training.run import Run, training_state
    from training.steps import distill_step
    from utils.checkpoint import load_checkpoint
    from utils.errors import UserError
    from utils.flags import max_pixels
    from utils.progress import progress
    from utils.provenance import provenance
    from utils.runtime import Precision, requires_grad, seed_everything

    prefix = f"live{opts.model_version}"
    d, device = distributed.setup(opts.device, opts.dist_timeout)
    write = tqdm.write if d.main else (lambda *_: None)
    seed_everything(opts.seed + d.rank)
    photos = ImageFolder(opts.photo_dir, opts.image_size, max_pixels=max_pixels(opts), holdout=opts.holdout)
    precision = Precision.choose(device, opts.precision, opts.channels_last, write if d.main else None)
    teacher_path = resolve_model(opts.teacher, write)
    teacher = generator_from(load_checkpoint(teacher_path), teacher_path).to(device).eval()
    requires_grad(teacher, False)
    write(f"teacher: {teacher_path} ({teacher.arch()}); {len(photos)} photos to learn from, {opts.holdout} held out")
    if opts.start == "teacher":  # the teacher's largest channels (models/prune.py); a resume loads its own weights
        if opts.num_blocks != teacher.num_blocks:
            raise UserError(f"--start teacher: --num_blocks {opts.num_blocks} differs from the teacher's "
                            f"{teacher.num_blocks}")
        student = thinner(teacher.cpu(), opts.channel).to(device)
        teacher.to(device)
    elif opts.start == "random":
        student = FaceGenerator(opts.channel, opts.num_blocks).to(device)
    else:  # a previous student: the same architecture, its weights
        start_path = resolve_model(opts.start, write)
        student = generator_from(load_checkpoint(start_path), start_path)
        wanted = FaceGenerator(opts.channel, opts.num_blocks).arch()
        if student.arch() != wanted:
            raise UserError(f"--start {opts.start}: a {student.arch()} generator, not the student's {wanted} "
                            f"(--channel, --num_blocks)")
        student.to(device)
    opt = torch.optim.Adam(student.parameters(), opts.lr, betas=(opts.beta1, opts.beta2))
    parts = {"G": student, "opt_G": opt}
    made_from = {"teacher": str(teacher_path), "teacher_arch": teacher.arch()}

    with Run(opts, prefix, write=write, writes=d.main, provenance=provenance(device),
             command="python -m training.distill") as run:
        start = run.resume("distill", parts, precision, d)
        S, T = distributed.wrap(precision.layout(student), d, device), precision.layout(teacher)
        skips = SkipReport(write)
        data = batches(photos, opts.batch_size, opts.seed, start, opts.workers, opts.flip, d.rank, d.world,
                       pin_memory=device.type == "cuda")
        step = start
        with distributed.guard(), workers_stopped_after(data), \
                progress(initial=start, total=opts.total_iter, unit="step", desc=prefix, disable=not d.main) as bar:
            for step in range(start + 1, opts.total_iter + 1):
                batch = next(data)
                skips.update(batch)
                for group in opt.param_groups:
                    group["lr"] = learning_rate(step, opts.total_iter, opts.lr)
                photo = precision.layout(batch["image"].to(device, non_blocking=True))
                losses = distill_step(photo, S, T, opt, precision, opts.edges, opts.flat)
                if run.record(step, losses):
                    bar.set_postfix(l1=f"{losses['l1']:.4f}", edges=f"{losses['edges']:.4f}",
                                    flat=f"{losses['flat']:.4f}")
                if d.main and (step % opts.sample_every == 0 or step == opts.total_iter):
                    run.sample(step, sample_columns(photo[:4], T, distributed.unwrap(S)))
                stop = run.end_step(step, lambda: training_state("distill", opts, parts, precision, **made_from),
                                    device)
                bar.update()
                if stop:
                    break
        run.finish(step, skips, "distillation")
    return run.exit_code


def sample_columns(photo, teacher, student) -> list:
    """photo | teacher | student, each (B, 3, H, W) RGB in [-1, 1]."""
    import torch

    from models.conventions import generate

    with torch.no_grad():
        return [photo, generate(teacher, photo).float(), generate(student, photo).float()]


if __name__ == "__main__":
    main()
