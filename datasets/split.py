"""Split a photo folder into a training set and held-out sets, as folders of symbolic links (no copies):

    python -m datasets.split ../shared/data/selfie2anime/photo datasets/selfie2anime --held_out watch=100 report=100

The images are taken sorted (as every folder reader here lists them); the last ones go to the held-out sets, in
the order given, so ``report`` above is the last 100 (the set the shipped models' tables use) and ``watch`` the
100 before it; ``train`` gets the rest. One set watches a run and chooses its step (train.py --eval_dir); the
other is never used for a choice, only for the reported table. Running it again with the same arguments changes
nothing; a destination that holds other files is refused.
"""
import argparse
import os
from pathlib import Path

from utils.errors import UserError, cli
from utils.image_io import list_images


def split(images: list[Path], held_out: list[tuple[str, int]]) -> dict[str, list[Path]]:
    """{'train': the first images, name: the next ones…}: the held-out sets take the end of ``images``, in order."""
    total = sum(n for _, n in held_out)
    if len(images) <= total:
        raise UserError(f"{len(images)} images: need more than the {total} held out")
    sets, start = {"train": images[:len(images) - total]}, len(images) - total
    for name, n in held_out:
        sets[name] = images[start:start + n]
        start += n
    return sets


def link(sets: dict[str, list[Path]], source: Path, dest: Path) -> None:
    """dest/{set}/{path under source} -> the image (absolute). Existing links to the same image are kept."""
    for name, images in sets.items():
        for image in images:
            target = dest / name / image.relative_to(source)
            if target.is_symlink() and target.resolve() == image.resolve():
                continue
            if target.exists() or target.is_symlink():
                raise UserError(f"{target}: already exists and is not a link to {image}; choose another destination")
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(image.resolve(), target)


def held_out_arg(text: str) -> tuple[str, int]:
    name, _, n = text.partition("=")
    if not name or name == "train" or not n.isdigit() or int(n) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=COUNT, e.g. report=100 (not named train)")
    return name, int(n)


@cli
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("source", type=Path, help="folder of photos (recursive)")
    p.add_argument("dest", type=Path, help="where the set folders go")
    p.add_argument("--held_out", type=held_out_arg, nargs="+", default=[("watch", 100), ("report", 100)],
                   metavar="NAME=COUNT", help="held-out sets, taken from the end of the sorted list, in this order")
    opts = p.parse_args(argv)
    if not opts.source.is_dir():
        raise UserError(f"{opts.source}: folder not found")
    sets = split(list_images(opts.source), opts.held_out)
    link(sets, opts.source, opts.dest)
    print(", ".join(f"{name}: {len(images)}" for name, images in sets.items()) + f" (links in {opts.dest})")


if __name__ == "__main__":
    main()
