"""Distil a real-time face model from a teacher:

    python distill.py --photo_dir ../shared/data/selfie2anime/photo --total_iter 20000 --model_version 1

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
import math

from training.options import distill_parser, parse_training_options
from utils.errors import cli


@cli
def main(argv=None):
    # before torch: --help and --dry-run answer at once
    parsed = parse_training_options(distill_parser, argv, prefix_of=lambda o: f"live{o.model_version}", kind="distill")
    return None if parsed is None else distill(*parsed)


def learning_rate(step: int, total: int, base: float) -> float:
    """Cosine from ``base`` at step 1 to 0 after ``total``."""
    return base * 0.5 * (1 + math.cos(math.pi * (step - 1) / total))


def distill(opts, resumed: dict | None = None):
    import torch

    from models.conventions import generate
    from training import distributed
    from training.loop import Session, Steps, checkpoint_state, training_loop
    from training.steps import distill_step
    from utils.flags import max_pixels

    s = Session.begin(opts)
    photos = s.folder(opts.photo_dir, opts.image_size, max_pixels(opts), holdout=opts.holdout)
    teacher, teacher_path = frozen_teacher(opts.teacher, s.device, s.write)
    s.write(f"teacher: {teacher_path} ({teacher.arch()}); {len(photos)} photos to learn from, {opts.holdout} held "
            f"out")
    student = initial_student(opts, teacher, s.write).to(s.device)
    opt = torch.optim.Adam(student.parameters(), opts.lr, betas=(opts.beta1, opts.beta2))
    parts = {"G": student, "opt_G": opt}

    def prepare(start: int) -> Steps:
        S, T = distributed.wrap(s.precision.layout(student), s.d, s.device), s.precision.layout(teacher)

        def step(n, now):
            for group in opt.param_groups:
                group["lr"] = learning_rate(n, opts.total_iter, opts.lr)
            return distill_step(s.images(now[0]), S, T, opt, s.precision, opts.edges, opts.flat)

        def columns(now):  # photo | teacher | student
            with torch.no_grad():
                photo = s.images(now[0])[:4]
                return [photo, generate(T, photo).float(), generate(student, photo).float()]

        return Steps(step, checkpoint_state("distill", opts, parts, s.precision, teacher=str(teacher_path),
                                            teacher_arch=teacher.arch()), columns, shown=("l1", "edges", "flat"))

    return training_loop(opts, s, f"live{opts.model_version}", parts, [photos], prepare, "distillation",
                         command="python distill.py", resumed=resumed)


def frozen_teacher(name: str, device, write):
    """(the teacher, frozen in eval mode on ``device``; its file): a model name or a checkpoint."""
    from models.released.pretrained import resolve_model
    from models.zoo import generator_from
    from utils.checkpoint import load_checkpoint
    from utils.runtime import requires_grad

    path = resolve_model(name, write)
    teacher = generator_from(load_checkpoint(path), path).to(device).eval()
    requires_grad(teacher, False)
    return teacher, path


def initial_student(opts, teacher, write):
    """--start teacher: the teacher's largest channels (models/prune.py); random: a fresh initialisation; else a
    previous student (a model name or a checkpoint) of the student's architecture. A resume loads its own
    weights over it."""
    from models.face_generator import FaceGenerator
    from models.prune import thinner
    from models.released.pretrained import resolve_model
    from models.zoo import generator_from
    from utils.checkpoint import load_checkpoint
    from utils.errors import UserError

    if opts.start == "teacher":
        if opts.num_blocks != teacher.num_blocks:
            raise UserError(f"--start teacher: --num_blocks {opts.num_blocks} differs from the teacher's "
                            f"{teacher.num_blocks}")
        device = next(teacher.parameters()).device
        student = thinner(teacher.cpu(), opts.channel)
        teacher.to(device)
        return student
    if opts.start == "random":
        return FaceGenerator(opts.channel, opts.num_blocks)
    start_path = resolve_model(opts.start, write)
    student = generator_from(load_checkpoint(start_path), start_path)
    wanted = FaceGenerator(opts.channel, opts.num_blocks).arch()
    if student.arch() != wanted:
        raise UserError(f"--start {opts.start}: a {student.arch()} generator, not the student's {wanted} "
                        f"(--channel, --num_blocks)")
    return student


if __name__ == "__main__":
    main()
