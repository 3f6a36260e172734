"""Command-line pieces shared by training and inference, and importable before torch: the scripts parse their
arguments first, so ``--help`` answers without loading torch (2 s on a slow machine)."""
import argparse
import os

PHOTO_DIR = "datasets/ffhq/128px/00000"  # FFHQ thumbnails (docs/data.md)
CARTOON_DIR = "datasets/animeGAN/SummerWar/style"  # an AnimeGAN style set
MAX_MEGAPIXELS = 50.0  # no phone or camera photo comes near it; a 0.9 MB PNG can declare 900 megapixels
SAVE_DIR = "checkpoints/saved_models"  # {prefix}_batch_{step}.pth files
LOG_DIR = "checkpoints/logs"


def spare_cores(cap: int) -> int:
    """Helper processes to start by default: one per core but the main process's, at most ``cap``."""
    return min(cap, max(0, (os.cpu_count() or 1) - 1))


def add_precision_args(p: argparse.ArgumentParser) -> None:
    """--precision and --channels_last (training and inference); 'auto' is resolved by utils.runtime."""
    p.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), default="auto",
                   help="autocast dtype (auto: bf16 on CUDA and on CPUs with native bf16, else fp32)")
    p.add_argument("--channels_last", choices=("auto", "on", "off"), default="auto",
                   help="NHWC memory layout (auto: on CUDA and with native-bf16 CPUs, off elsewhere)")


def add_pixel_limit_arg(p: argparse.ArgumentParser) -> None:
    """--max_megapixels: every image and video frame read is checked against it from its header, before decoding
    (utils.image_io.MAX_PIXELS is the same default, in pixels)."""
    p.add_argument("--max_megapixels", type=float, default=MAX_MEGAPIXELS,
                   help="larger images are skipped (and counted) before decoding: a few-kB PNG can declare "
                        "gigapixels")


def max_pixels(opts) -> int:
    """The pixel limit a run's options set (options saved before the flag existed: the default)."""
    return round(getattr(opts, "max_megapixels", MAX_MEGAPIXELS) * 1e6)


def check_pixel_limit(p: argparse.ArgumentParser, opts) -> None:
    if not opts.max_megapixels > 0:
        p.error(f"--max_megapixels {opts.max_megapixels}: must be above 0")


def check_strength(p: argparse.ArgumentParser, opts) -> None:
    """--strength: the style strength between photo (0) and cartoon (1)."""
    if not 0 <= opts.strength <= 1:
        p.error(f"--strength {opts.strength}: must be between 0 and 1")


def add_checkpoint_args(p) -> None:
    """The flags that name a generator (test.py, inference.export)."""
    p.add_argument("--model", default=None,
                   help="a named pretrained model (whitebox, facial), a checkpoint file, the face model's weight.pth "
                        "or .xml, or a White-box TF checkpoint folder")
    p.add_argument("--model_version", type=int, default=1, help="with --batch: gen{model_version}_batch_{batch}.pth")
    p.add_argument("--batch", type=int, default=None,
                   help="the training STEP of the checkpoint to load (not images per pass: that is --batch_size)")
    p.add_argument("--pretrain", action="store_true", help="load pre_gen_batch_{batch}.pth instead")
    p.add_argument("--checkpoint", default=None, help="load this checkpoint file (same as --model PATH)")
    p.add_argument("--save_dir", default=SAVE_DIR, help="where --model_version/--batch checkpoints are")
