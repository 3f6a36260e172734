"""What test.py reads and writes: its inputs (an image, a folder or a video), its output folder, and videos
cartoonised frame by frame."""
from collections import Counter
from pathlib import Path

from utils.errors import UserError
from utils.image_io import IMAGE_EXTS, VIDEO_EXTS, list_images, skipped_line


def inputs(opts) -> tuple[list[Path], Path, Path | None, str]:
    """(image files, the folder names are relative to, a video file or None, a line counting the folder's other
    files by reason or '')."""
    if opts.input is None:
        root = Path(opts.photo_dir)
        if not root.is_dir():
            raise UserError(f"{root}: folder not found (pass test photos with --photo_dir or --input)")
        others = Counter()
        files = list_images(root, others)
        return (files[: opts.num] if opts.num else files), root, None, skipped_line(others)
    path = Path(opts.input)
    if path.is_dir():
        others = Counter()
        return list_images(path, others), path, None, skipped_line(others)
    if not path.is_file():
        raise UserError(f"{path}: no such file or folder")
    if path.suffix.lower() in VIDEO_EXTS:
        return [], path.parent, path, ""
    if path.suffix.lower() not in IMAGE_EXTS:
        raise UserError(f"{path}: not an image or video extension ({', '.join(sorted(IMAGE_EXTS | VIDEO_EXTS))})")
    return [path], path.parent, None, ""


def output_folder(opts, tag: str) -> Path:
    """results/{tag}[_align][_s{strength}]: runs with other settings never overwrite each other."""
    if opts.out:
        return Path(opts.out)
    tag += "_align" if opts.align else ""
    tag += f"_s{opts.strength:g}" if opts.strength != 1 else ""
    return Path("results") / tag


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
