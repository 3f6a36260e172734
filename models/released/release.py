"""Turn a training checkpoint into a released model of this project: the generator alone, in fp16 (half the
bytes; loaded back into fp32 modules), with what it is, how it was made and its licence.

    python -m models.released.release checkpoints/saved_models/gen9100_batch_300.pth models/released/NAME.pth \
        --licence "CC BY-NC-SA 4.0 ..." --made "studies/face_study.py ... (arm, --w5, seed)"

A released checkpoint is of kind "released": test.py and the app use it as a finished model (no short-run caveat);
``train.py --pretrained`` can fine-tune it further.
"""
import argparse
from pathlib import Path

from utils.checkpoint import load_checkpoint, save_checkpoint
from utils.errors import UserError, cli


def release(src, out, licence: str, made: str) -> Path:
    ckpt = load_checkpoint(src)
    if "G" not in ckpt:
        raise UserError(f"{src}: holds no generator weights")
    half, converted = {}, {}
    for k, v in ckpt["G"].items():  # tensors shared between keys (the face model's one residual block) stay shared
        key = (v.data_ptr(), tuple(v.shape), v.dtype)
        half[k] = converted.setdefault(key, v.half() if v.is_floating_point() else v)
    return save_checkpoint(out, {"kind": "released", "step": ckpt.get("step", 0), "arch": ckpt.get("arch", {}),
                                 "G": half, "licence": licence, "provenance": ckpt.get("provenance", {}),
                                 "options": {"source": Path(src).name, "made": made,
                                             "training_options": ckpt.get("options", {})}})


@cli
def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src", help="a checkpoint of this project (train.py's)")
    p.add_argument("out", help="the released .pth")
    p.add_argument("--licence", required=True, help="the weights' licence (a fine-tune inherits its start's)")
    p.add_argument("--made", required=True, help="how it was made: the command, the setting, the random seed")
    opts = p.parse_args(argv)
    out = release(opts.src, opts.out, opts.licence, opts.made)
    print(f"released {opts.src} -> {out} ({out.stat().st_size / 1e6:.2f} MB, fp16)")


if __name__ == "__main__":
    main()
