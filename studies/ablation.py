"""White-box's ablation on this project's own model: what each representation does to the image.

    python -m studies.ablation --start checkpoints/anime/saved_models/gen11_batch_N.pth --steps 1000 \
        --report datasets/selfie2anime/report --cartoon_dir ../shared/data/selfie2anime/cartoon --out results/ablation

From one checkpoint of a training run (its G, both discriminators and both optimisers: ``train.py --resume``), one
arm per term with that term's weight at 0 (w0 TV, w1 surface, w2 texture, w3 content, w4 structure, w5 landmark)
and the full loss, each trained --steps more with the same seed and data (a fork of the run: its own
--model_version). Each arm's last checkpoint is scored on the report set as studies/anime_model.py scores a model
(per-photo measures with paired 95 % bootstrap intervals, KID-effnet) and drawn in one sheet: rows = six report
faces, columns = the photo and the arms. Resumable: an arm already trained is not trained again.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

from utils.errors import UserError, cli

ARMS = {"full": None, "no TV (w0)": "w0", "no surface (w1)": "w1", "no texture (w2)": "w2",
        "no content (w3)": "w3", "no structure (w4)": "w4", "no landmark (w5)": "w5"}
FIRST_VERSION = 200  # the arms' --model_version: 200 (full), 201 … 206


def arm_command(start: Path, version: int, total: int, flag: str | None) -> list[str]:
    """train.py continuing ``start`` as run gen{version} to step ``total``, with --{flag} 0 (None: the full loss)."""
    zero = [f"--{flag}", "0"] if flag else []
    return [sys.executable, "train.py", "--resume", str(start), "--model_version", str(version), "--total_iter",
            str(total), "--save_every", str(total), "--keep_last", "1", *zero]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--start", type=Path, required=True, help="a train.py checkpoint (the run's best)")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--report", type=Path, default=Path("datasets/selfie2anime/report"))
    p.add_argument("--cartoon_dir", type=Path, default=Path("../shared/data/selfie2anime/cartoon"))
    p.add_argument("--out", type=Path, default=Path("results/ablation"))
    p.add_argument("--size", type=int, default=256)
    return p


@cli
def main(argv=None):
    opts = parser().parse_args(argv)
    from inference.cartoonise import Cartooniser, load_generator
    from inference.fid import KidEffnet
    from studies.anime_model import bootstrap, markdown, per_photo, sheet
    from utils.checkpoint import checkpoint_path, load_checkpoint
    from utils.faces.metrics import FaceMetrics
    from utils.image_io import list_images, read_images, write_image

    start = load_checkpoint(opts.start, kind="train")
    total, save_dir = start["step"] + opts.steps, Path(start["options"]["save_dir"])
    ends = {}
    for k, (arm, flag) in enumerate(ARMS.items()):
        ends[arm] = checkpoint_path(save_dir, f"gen{FIRST_VERSION + k}", total)
        if not ends[arm].is_file():
            print(f"{arm}: training {opts.steps} steps from {opts.start}", flush=True)
            subprocess.run(arm_command(opts.start, FIRST_VERSION + k, total, flag), check=True)
    photos, _ = read_images(list_images(opts.report), 10_000)
    if not photos:
        raise UserError(f"{opts.report}: no readable report photos")
    cartoons = {arm: Cartooniser(load_generator(path, "cpu"), "cpu", opts.size)(photos) for arm, path in ends.items()}
    metrics = FaceMetrics()
    stats = bootstrap({arm: per_photo(metrics, photos, c) for arm, c in cartoons.items()})
    kid = KidEffnet(opts.cartoon_dir, 1000, "cpu")
    kids = {m: kid(c) for m, c in cartoons.items()}
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / "ablation.json").write_text(json.dumps({"start": str(opts.start), "steps": opts.steps,
                                                        "stats": stats, "kid_effnet": kids}, indent=1) + "\n")
    (opts.out / "ablation.md").write_text(markdown(stats, kids, {}, "arms"))
    write_image(opts.out / "sheet.jpg", sheet([photos, *cartoons.values()], opts.size))
    print((opts.out / "ablation.md").read_text())
    print(f"sheet columns: photo | {' | '.join(ARMS)}")


if __name__ == "__main__":
    main()
