"""Speed and memory figures on whatever device is present:  python -m bench [--quick]

Prints a table and writes bench/results/{device}-{date}.json:
- training steps/s of this project's path (one persistent loader, superpixels started before the VGG and D
  forwards, on worker processes or the torch SLIC) and of the straightforward synchronous path (a new loader
  iterator every step, skimage SLIC serially on the critical path, fp32), on the same data, and their ratio;
- a breakdown of one training step (data, G forward, superpixel, VGG, D, backward, optimiser);
- inference images/s and ms/image at 128/256/512/720 (G + the guided filter, no grad);
- peak memory (CPU RSS, GPU max allocated).
Data: --photo_dir/--cartoon_dir, else a demo set built in a temporary folder.
"""
import argparse
import contextlib
import datetime
import json
import platform
import resource
import tempfile
import time
from pathlib import Path

import cv2
import torch
from torch.utils.data import DataLoader

from datasets.folder import ImageFolder, batches
from losses.adversarial import lsgan_g_loss
from losses.superpixel import Superpixels
from losses.surface import surface
from losses.texture import color_shift, color_shift_weights
from losses.weights import LossWeights
from models.discriminator import PatchDiscriminator
from models.generator import TEST_EPS, TRAIN_EPS, Generator, cartoonize
from models.vgg import VGGFeatures
from utils.runtime import Precision
from utils.training.steps import Nets, train_step


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def build_nets(device, channels_last=False) -> Nets:
    G, Dt, Ds, vgg = Generator(), PatchDiscriminator(1), PatchDiscriminator(3), VGGFeatures()  # VGG speed does
    nets = [m.to(device) for m in (G, Dt, Ds, vgg)]                                           # not need weights
    if channels_last:
        for m in nets:
            m.to(memory_format=torch.channels_last)
    G, Dt, Ds, vgg = nets
    return Nets(G, Dt, Ds, vgg, torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.99)),
                torch.optim.Adam([*Dt.parameters(), *Ds.parameters()], 2e-4, betas=(0.5, 0.99)))


def train_rate(device, photos, cartoons, batch, steps, warmup, pipelined, workers, sp_workers, amp="fp32",
               channels_last=False, method="skimage") -> dict:
    """Steps/s over ``steps`` steps after ``warmup``: the project's path, or the synchronous baseline."""
    torch.manual_seed(0)
    nets, precision, weights = build_nets(device, channels_last), Precision(device, amp), LossWeights()
    pin = device.type == "cuda"
    if pipelined:
        photo_it = batches(photos, batch, 0, workers=workers, pin_memory=pin)
        cartoon_it = batches(cartoons, batch, 1, workers=workers, pin_memory=pin)
        nxt = lambda: (next(photo_it), next(cartoon_it))  # noqa: E731
        superpixels = Superpixels(sp_workers, method=method)
    else:  # the seed's pattern: next(iter(loader)) every step, SLIC serially in the training process
        cv2.setNumThreads(1)  # fork safety, as in datasets.folder.batches
        photo_dl = DataLoader(photos, batch, shuffle=True, num_workers=workers, drop_last=True)
        cartoon_dl = DataLoader(cartoons, batch, shuffle=True, num_workers=workers, drop_last=True)
        nxt = lambda: (next(iter(photo_dl)), next(iter(cartoon_dl)))  # noqa: E731
        superpixels = Superpixels(0, method="skimage")
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    try:
        for i in range(warmup + steps):
            if i == warmup:
                sync(device)
                t0 = time.perf_counter()
            p, c = nxt()
            photo = p["image"].to(device, non_blocking=True).contiguous(memory_format=fmt)
            cartoon = c["image"].to(device, non_blocking=True).contiguous(memory_format=fmt)
            train_step(photo, cartoon, nets, weights, precision, superpixels)
        sync(device)
        dt = time.perf_counter() - t0
    finally:
        superpixels.close()
    return {"steps_per_s": steps / dt, "ms_per_step": 1000 * dt / steps}


def breakdown(device, photos, cartoons, batch, repeats) -> dict:
    """Milliseconds of each part of one training step, each part timed on its own (device synced)."""
    nets = build_nets(device)
    superpixels = Superpixels(0)
    loader = batches(photos, batch, 0)
    photo = next(loader)["image"].to(device)
    cartoon = next(batches(cartoons, batch, 1))["image"].to(device)
    G, vgg = nets.G, nets.vgg
    fake = cartoonize(G, photo, TRAIN_EPS)
    w = color_shift_weights(device)

    def g_loss():
        f = cartoonize(G, photo, TRAIN_EPS)
        return (lsgan_g_loss(nets.D_surface(surface(f))) + lsgan_g_loss(nets.D_texture(color_shift(f, w)))
                + vgg(f).abs().mean())

    parts = {
        "data (persistent loader)": lambda: next(loader),
        "G forward + guided filter": lambda: cartoonize(G, photo, TRAIN_EPS),
        "superpixel (skimage, serial)": lambda: superpixels(fake),
        "VGG19 forward x3": lambda: [vgg(photo), vgg(fake), vgg(fake)],
        "D forwards (G and D steps)": lambda: [nets.D_surface(torch.cat([surface(cartoon), surface(fake)])),
                                              nets.D_texture(torch.cat([color_shift(cartoon, w),
                                                                        color_shift(fake, w)]))],
        "backward (G loss)": lambda: g_loss().backward(),
        "optimiser steps": lambda: [nets.opt_G.step(), nets.opt_D.step()],
    }
    out = {}
    for name, fn in parts.items():
        ctx = torch.no_grad() if "backward" not in name and "optimiser" not in name else contextlib.nullcontext()
        with ctx:
            fn()
            sync(device)
            t0 = time.perf_counter()
            for _ in range(repeats):
                fn()
            sync(device)
        out[name] = 1000 * (time.perf_counter() - t0) / repeats
    out["backward (G loss)"] -= out["G forward + guided filter"] + out["VGG19 forward x3"] / 3  # forward part
    return out


def inference(device, sizes, batch, repeats, half=False) -> dict:
    G = Generator().to(device).eval()
    out = {}
    for size in sizes:
        x = torch.rand(batch, 3, size, size, device=device) * 2 - 1
        with torch.inference_mode(), torch.autocast("cuda", torch.float16, enabled=half):
            cartoonize(G, x, TEST_EPS)
            sync(device)
            t0 = time.perf_counter()
            for _ in range(repeats):
                cartoonize(G, x, TEST_EPS)
            sync(device)
        dt = (time.perf_counter() - t0) / repeats
        out[str(size)] = {"batch": batch, "images_per_s": batch / dt, "ms_per_image": 1000 * dt / batch}
    return out


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{platform.machine()} CPU"


def end_to_end_ms(device, side: int, repeats: int) -> float:
    """test.py's per-photo path: uint8 photo in, resize/pad, G + guided filter, crop, uint8 cartoon out."""
    import numpy as np

    from utils.inference.cartoonise import Cartooniser
    photo = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    run = Cartooniser(Generator().to(device).eval(), device, max_side=720, batch_size=1)
    run([photo])
    t0 = time.perf_counter()
    for _ in range(repeats):
        run([photo])
    return 1000 * (time.perf_counter() - t0) / repeats


def demo_folders() -> tuple[Path, Path]:
    from datasets.make_demo import main as make_demo
    root = Path(tempfile.mkdtemp(prefix="bench-demo-"))
    make_demo(["--out", str(root), "--num", "32"])
    return root / "photo", root / "cartoon"


def table(rows) -> str:
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer steps and sizes (under 2 minutes on CPU)")
    p.add_argument("--photo_dir")
    p.add_argument("--cartoon_dir")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch_size", type=int, default=None, help="default: 16 on GPU, 4 on CPU")
    p.add_argument("--image_size", type=int, default=None, help="default: 256 on GPU, 128 on CPU")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--out", default="bench/results")
    opts = p.parse_args(argv)
    device = torch.device(opts.device)
    gpu = device.type == "cuda"
    if gpu:
        torch.backends.cudnn.benchmark = True
    batch = opts.batch_size or (16 if gpu else 4)
    size = opts.image_size or (256 if gpu else 128)
    cores = len(__import__("os").sched_getaffinity(0))
    workers = opts.workers if opts.workers is not None else min(8, max(1, cores // 2))
    sp_workers = max(1, cores - 2 * workers) if cores > 2 else 1
    steps, warmup = (4, 2) if opts.quick else (20, 5)
    if opts.photo_dir and opts.cartoon_dir:
        photo_dir, cartoon_dir = Path(opts.photo_dir), Path(opts.cartoon_dir)
    else:
        photo_dir, cartoon_dir = demo_folders()
    photos, cartoons = ImageFolder(photo_dir, size), ImageFolder(cartoon_dir, size)
    name = torch.cuda.get_device_name(device) if gpu else cpu_name()
    result = {"device": name, "cores": cores, "date": datetime.date.today().isoformat(), "torch": torch.__version__,
              "batch_size": batch, "image_size": size, "workers": workers, "superpixel_workers": sp_workers,
              "data": str(photo_dir)}

    train = {}
    baseline = train_rate(device, photos, cartoons, batch, steps, warmup, False, workers, 0)
    train["synchronous baseline"] = baseline
    train["project path"] = train_rate(device, photos, cartoons, batch, steps, warmup, True, workers, sp_workers,
                                       method="torch" if gpu else "skimage")
    if gpu:  # each switch measured on its own; CPU has no fast bf16 and channels_last is slower there
        train["+ bf16 autocast"] = train_rate(device, photos, cartoons, batch, steps, warmup, True, workers,
                                              sp_workers, amp="bf16", method="torch")
        train["+ bf16 + channels_last"] = train_rate(device, photos, cartoons, batch, steps, warmup, True, workers,
                                                     sp_workers, amp="bf16", channels_last=True, method="torch")
        train["skimage SLIC in processes"] = train_rate(device, photos, cartoons, batch, steps, warmup, True,
                                                        workers, sp_workers, amp="bf16", method="skimage")
    result["train"] = train
    best = max(v["steps_per_s"] for k, v in train.items() if k != "synchronous baseline")
    result["speedup_vs_baseline"] = best / baseline["steps_per_s"]
    result["breakdown_ms"] = breakdown(device, photos, cartoons, batch, 2 if opts.quick else 5)
    sizes = (128, 256, 512) if opts.quick else (128, 256, 512, 720)
    inf_batch = 64 if gpu else 1
    result["inference"] = inference(device, sizes, inf_batch, 2 if opts.quick else 5)
    result["test_py_512_ms_per_photo"] = end_to_end_ms(device, 512, 2 if opts.quick else 5)
    if gpu:
        result["inference_fp16"] = inference(device, sizes, inf_batch, 5, half=True)
        result["gpu_max_allocated_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    result["cpu_peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

    rows = [("device", f"{name} ({cores} cores), torch {torch.__version__}"),
            ("training", f"batch {batch}, {size}², {workers} loader workers, {sp_workers} superpixel workers")]
    rows += [(f"  {k}", f"{v['steps_per_s']:.3f} steps/s ({v['ms_per_step']:.0f} ms/step)") for k, v in train.items()]
    rows.append(("  speed-up over the synchronous path", f"{result['speedup_vs_baseline']:.2f}×"))
    rows.append(("breakdown of one step", ""))
    rows += [(f"  {k}", f"{v:.1f} ms") for k, v in result["breakdown_ms"].items()]
    rows.append((f"inference (batch {inf_batch}, G + guided filter)", ""))
    for key in ("inference", "inference_fp16"):
        for s, v in result.get(key, {}).items():
            tag = " fp16" if key.endswith("fp16") else ""
            rows.append((f"  {s}²{tag}", f"{v['images_per_s']:.1f} images/s ({v['ms_per_image']:.1f} ms/image)"))
    rows.append(("test.py path, one 512² photo", f"{result['test_py_512_ms_per_photo']:.0f} ms"))
    rows.append(("peak CPU RSS", f"{result['cpu_peak_rss_gib']:.2f} GiB"))
    if gpu:
        rows.append(("peak GPU allocated", f"{result['gpu_max_allocated_gib']:.2f} GiB"))
    print(table(rows))
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{'cuda' if gpu else 'cpu'}-{result['date']}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {path}")


if __name__ == "__main__":
    main()
