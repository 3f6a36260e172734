"""One argparse builder for the training scripts, with their flag names, defaults and checks (no torch: the
scripts parse their arguments before importing it)."""
import argparse
import json
import os

from losses.weights import DEFAULTS, FLAGS, HELP
from utils.flags import (
    CARTOON_DIR,
    LOG_DIR,
    PHOTO_DIR,
    SAVE_DIR,
    add_pixel_limit_arg,
    add_precision_args,
    check_pixel_limit,
    spare_cores,
)

# the landmark term's views (--landmark_view): each built by training.start.landmark_view
LANDMARK_VIEWS = ("edges", "surface", "points", "surface_points")


def _training_parser(description: str, total_iter: int, lr_flag: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--total_iter", type=int, default=total_iter, help="training steps")
    p.add_argument("--photo_dir", default=PHOTO_DIR, help="folder of face photos (recursive)")
    p.add_argument("--image_size", type=int, default=128, help="training crop side (multiple of 4)")
    p.add_argument("--batch_size", type=int, default=16, help="images per step and process (not a checkpoint step)")
    p.add_argument(lr_flag, dest="lr", type=float, default=2e-4, help="Adam learning rate")
    p.add_argument("--beta1", type=float, default=0.5)
    p.add_argument("--beta2", type=float, default=0.99)
    p.add_argument("--channel", type=int, default=32, help="generator base width (White-box: 32)")
    p.add_argument("--num_blocks", type=int, default=4, help="generator residual blocks (White-box: 4)")
    p.add_argument("--checkpoint", type=int, default=None, metavar="N", help="resume from the step-N checkpoint")
    p.add_argument("--resume", nargs="?", const=True, default=False, metavar="PATH",
                   help="continue this run from its newest checkpoint (or PATH) with the run's own options; flags "
                        "given with it override them (image size, batch size, generator and seed are refused); "
                        "--resume auto: the same, or a fresh run when there is no checkpoint yet")
    p.add_argument("--save_every", type=int, default=500, help="checkpoint every N steps (and at the end)")
    p.add_argument("--sample_every", type=int, default=200, help="sample grid every N steps")
    p.add_argument("--keep_last", type=int, default=0, help="keep only the newest K checkpoints (0: keep all)")
    p.add_argument("--save_dir", default=SAVE_DIR, help="where checkpoints go")
    p.add_argument("--log_dir", default=LOG_DIR, help="where options.json, losses.jsonl and samples go")
    p.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda, cuda:1, ...")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=spare_cores(4), help="DataLoader worker processes")
    p.add_argument("--no_flip", dest="flip", action="store_false", help="no random horizontal flips")
    add_precision_args(p)
    p.add_argument("--max_bad_steps", type=int, default=10,
                   help="stop after this many non-finite steps in a row (each one is skipped)")
    p.add_argument("--dist_timeout", type=float, default=10.0,
                   help="minutes a distributed process waits for the others before failing")
    add_pixel_limit_arg(p)
    p.add_argument("--dry-run", dest="dry_run", action="store_true", help="print the resolved options and exit")
    return p


def pretrain_parser() -> argparse.ArgumentParser:
    return _training_parser("Pretrain the generator to reconstruct photos (L1).", 50000, "--pretrain_lr")


def distill_parser() -> argparse.ArgumentParser:
    p = _training_parser("Distil a thinner face generator from a teacher (a real-time model for the live page).",
                         20000, "--lr")
    p.set_defaults(channel=16, image_size=256, batch_size=8, beta1=0.9, beta2=0.999, save_every=1000)
    p.add_argument("--teacher", default="facial_landmarks", help="the model to reproduce (a name or a checkpoint)")
    p.add_argument("--model_version", type=int, default=1, help="names the run: live{model_version}_batch_N.pth")
    p.add_argument("--holdout", type=int, default=100,
                   help="the last N photos of --photo_dir (sorted) are never trained on: held out for measures")
    p.add_argument("--edges", type=float, default=1.0, help="weight of the pixel-difference term (losses/distill.py)")
    p.add_argument("--flat", type=float, default=0.0,
                   help="weight of the flatness term: the student's shading where the teacher is flat "
                        "(losses/distill.py)")
    p.add_argument("--start", default="teacher",
                   help="teacher: the student starts as the teacher's largest channels (models/prune.py); random: "
                        "a fresh initialisation; or a previous student (a model name such as facial_live, or a "
                        "checkpoint) of the same size: when the teacher has changed, it starts near")
    return p


def train_parser() -> argparse.ArgumentParser:
    p = _training_parser("Train the cartooniser adversarially (White-box losses + landmarks).", 30000,
                         "--adv_train_lr")
    p.add_argument("--model_version", type=int, default=1, help="names the run: gen{model_version}_batch_N.pth")
    p.add_argument("--cartoon_dir", default=CARTOON_DIR, help="folder of cartoon images (recursive)")
    p.add_argument("--pretrained", default=None,
                   help="generator to start from: a model name (whitebox) or a checkpoint path; when not given, the "
                        "highest-step pre_gen_batch_*.pth of --save_dir")
    p.add_argument("--vgg_weights", default="auto",
                   help="VGG19 for content/structure: auto (ImageNet if it can be had, else random), imagenet "
                        "(torchvision's cache or a download), random (seeded LSUV-scaled, offline), a PATH, or "
                        "efficientnet-lite0 (not VGG: ImageNet EfficientNet-Lite0 from its wheel, offline; "
                        "requirements-study.txt)")
    p.add_argument("--train_d_times", type=int, default=1, help="discriminator steps per generator step")
    p.add_argument("--d_warmup", type=int, default=0,
                   help="first N steps train the discriminators only, G frozen (for fine-tuning a released G)")
    p.add_argument("--use_enhance", action="store_true", help="selective-search superpixels + adaptive colour")
    p.add_argument("--superpixel", choices=("auto", "skimage", "torch"), default="auto",
                   help="SLIC implementation: skimage in worker processes, or batched torch on the device "
                        "(auto: torch on CUDA, skimage on CPU, where it is faster)")
    p.add_argument("--superpixel_workers", type=int, default=spare_cores(8),
                   help="processes computing superpixel targets (0: in the training process)")
    p.add_argument("--landmark_sigma", type=float, default=0.015, help="heatmap σ as a fraction of the image side")
    p.add_argument("--landmark_view", choices=LANDMARK_VIEWS, default="edges",
                   help="what the landmark term compares: near the 68 points, the images' edges (the default) or the "
                        "edges of their surface representation (guided-filter blur: shapes, not skin texture); "
                        "points: the 68 points a landmark reader reads off the output and off the photo, in the "
                        "photo's face box (positions, not pixels); surface_points: the same read off their surface "
                        "representations")
    p.add_argument("--landmark_reader", default=None,
                   help="the landmark reader's state dict for the points views; when not given, the shipped Peppa "
                        "Slim (models/released/peppa/)")
    p.add_argument("--landmark_threshold", type=float, default=0.0,
                   help="edges weaker than this (Sobel magnitude of the luma in [-1, 1]; 0.03 ≈ 4 levels of 255 per "
                        "pixel) do not count in the landmark term: the photo's soft shading asks for nothing, the "
                        "contours still do; 0: every edge counts (the default)")
    p.add_argument("--anchor_free", type=float, default=0.0,
                   help="style anchor weight 1 − f·H near the face's contours (H: the landmark heatmaps), so the "
                        "geometry may move there; 0: held everywhere")
    p.add_argument("--predictor", default=None,
                   help="dlib 68-point predictor file; when not given, face-recognition-models' copy")
    p.add_argument("--eval_dir", default=None,
                   help="held-out photos: every --eval_every steps, G cartoonises the first --eval_num of them and "
                        "the face metrics and stylisation measures go to eval.jsonl and TensorBoard")
    p.add_argument("--eval_every", type=int, default=500, help="steps between held-out evaluations")
    p.add_argument("--eval_num", type=int, default=32, help="held-out photos per evaluation")
    p.add_argument("--landmark_cache", default=None,
                   help="landmark cache file; when not given <save_dir>/../landmark_cache/<photo folder>-<hash>.npz")
    for flag, field in FLAGS.items():
        p.add_argument(f"--{flag}", type=float, default=DEFAULTS[field], help=f"weight of {HELP[field]}")
    return p


def check_training_options(p: argparse.ArgumentParser, opts: argparse.Namespace) -> argparse.Namespace:
    """Reject out-of-range flags with argparse's one-line error (exit status 2)."""
    if opts.image_size < 16 or opts.image_size % 4:
        p.error(f"--image_size {opts.image_size}: must be a multiple of 4 and at least 16")
    for name in ("total_iter", "batch_size", "save_every", "sample_every", "channel", "max_bad_steps", "eval_every",
                 "eval_num"):
        if getattr(opts, name, 1) < 1:
            p.error(f"--{name} {getattr(opts, name)}: must be at least 1")
    for name in ("num_blocks", "keep_last", "workers", "superpixel_workers", "d_warmup"):
        if getattr(opts, name, 0) < 0:
            p.error(f"--{name} {getattr(opts, name)}: must not be negative")
    if not opts.lr > 0:
        p.error(f"learning rate {opts.lr}: must be positive")
    if opts.checkpoint is not None and opts.resume:
        p.error("--checkpoint and --resume: give one of them")
    for flag in FLAGS:
        if getattr(opts, flag, 0.0) < 0:
            p.error(f"--{flag} {getattr(opts, flag)}: loss weights must not be negative")
    if not getattr(opts, "landmark_sigma", 1) > 0:
        p.error(f"--landmark_sigma {opts.landmark_sigma}: must be positive")
    if not 0 <= getattr(opts, "anchor_free", 0) <= 1:
        p.error(f"--anchor_free {opts.anchor_free}: must be between 0 and 1")
    if getattr(opts, "landmark_threshold", 0) < 0:
        p.error(f"--landmark_threshold {opts.landmark_threshold}: must not be negative")
    if getattr(opts, "train_d_times", 1) < 1:
        p.error(f"--train_d_times {opts.train_d_times}: must be at least 1")
    check_pixel_limit(p, opts)
    return opts


def parse_training_options(parser_factory, argv=None, prefix_of=lambda opts: "pre_gen", kind: str = "pretrain"
                           ) -> tuple[argparse.Namespace, dict | None] | None:
    """Parse and check (``parser_factory``: pretrain_parser, train_parser or distill_parser); with --resume or
    --checkpoint, restore the run's options from its checkpoint (training.resume, which reads it once and checks
    that it is a ``kind`` checkpoint). Returns (options, the checkpoint to resume or None); with --dry-run prints
    the resolved options as JSON and returns None. ``prefix_of(opts)`` names the run's checkpoints."""
    parser = parser_factory()
    opts, resumed = check_training_options(parser, parser.parse_args(argv)), None
    if opts.resume or opts.checkpoint is not None:
        from training.resume import resolve_resume

        main_process = os.environ.get("RANK", "0") == "0"
        opts, resumed = resolve_resume(parser_factory, opts, argv, prefix_of, kind,
                                       print if main_process else (lambda *_: None))
    if opts.dry_run:
        print(json.dumps(vars(opts), indent=2, sort_keys=True))
        return None
    return opts, resumed
