"""What test.py reads and writes: its inputs (an image, a folder or a video), its output folder, and videos
cartoonised frame by frame."""
from collections import Counter
from pathlib import Path

from utils.errors import UserError
from utils.image_io import IMAGE_EXTS, VIDEO_EXTS, list_images, skipped_line


def inputs(given: str | None, photo_dir, num: int = 0) -> tuple[list[Path], Path, Path | None, str]:
    """(image files, the folder names are relative to, a video file or None, a line counting the folder's other
    files by reason or ''): ``given`` (test.py --input: an image, a folder or a video), else the first ``num`` (0:
    all) photos of ``photo_dir``."""
    if given is None:
        root = Path(photo_dir)
        if not root.is_dir():
            raise UserError(f"{root}: folder not found (pass test photos with --photo_dir or --input)")
        others = Counter()
        files = list_images(root, others)
        return (files[:num] if num else files), root, None, skipped_line(others)
    path = Path(given)
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


def output_names(files: list[Path], root: Path) -> list[Path]:
    """One output name per input (relative, no extension), never two alike within a run, compared as a
    case-insensitive file system would: the input's path under ``root`` without its extension (``a/IMG_1``);
    where inputs share that, their whole names (``IMG_1.jpg``, ``IMG_1.png``); where those still match but for
    letter case (``a.JPG``, ``a.jpg``), a number in sorted order (``a.JPG-1``, ``a.jpg-2``)."""
    stems = [f.relative_to(root).with_suffix("") for f in files]
    shared = Counter(str(s).casefold() for s in stems)
    names = [f.relative_to(root) if shared[str(s).casefold()] > 1 else s for f, s in zip(files, stems)]
    folded = Counter(str(n).casefold() for n in names)
    seen = Counter()
    for i, n in enumerate(names):
        key = str(n).casefold()
        if folded[key] > 1:
            seen[key] += 1
            names[i] = n.with_name(f"{n.name}-{seen[key]}")
    return names


def output_paths(out_dir: Path, name: Path) -> tuple[Path, Path]:
    """Where one photo's results go: (side_by_side/{name}.jpg: photo | cartoon, cartoon/{name}.png)."""
    return out_dir / "side_by_side" / f"{name}.jpg", out_dir / "cartoon" / f"{name}.png"


def cartoon_video_path(path: Path, out_dir: Path) -> Path:
    """{out_dir}/{stem}_cartoon.mp4: where the cartoon of the video ``path`` goes."""
    return Path(out_dir) / f"{Path(path).stem}_cartoon.mp4"


def replaced_line(paths: list[Path], out_dir: Path) -> str:
    """'replaces 3 files of an earlier run in DIR (a.png, b.png, …)' for those of ``paths`` that exist, else ''."""
    old = [p for p in paths if p.exists()]
    if not old:
        return ""
    shown = ", ".join(str(p.relative_to(out_dir)) for p in old[:3]) + (", …" if len(old) > 3 else "")
    return f"replaces {plural(len(old), 'file')} of an earlier run in {out_dir} ({shown})"


def output_folder(out: str | None, tag: str, align: bool = False, strength: float = 1.0) -> Path:
    """``out``, else results/{tag}[_align][_s{strength}]: runs with other settings never overwrite each other."""
    if out:
        return Path(out)
    tag += "_align" if align else ""
    tag += f"_s{strength:g}" if strength != 1 else ""
    return Path("results") / tag


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
