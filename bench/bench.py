"""Speed figures on whatever device is present:  python -m bench [--quick] [--model whitebox]

Prints a table and writes a new bench/results/{cpu|cuda}-{date}T{time}.json each run (never overwriting one):
- the machine: CPU model and vector flags (or the GPU), torch, what --precision auto picks here;
- training steps/s, batch 4 at 128² on CPU (16 at 256² on GPU): the original PyTorch port's synchronous path (a new
  loader iterator every step, SLIC serially in the step, fp32) and this project's path in each precision and
  memory layout, with the achieved GFLOP/s (FLOPs of one step counted once by torch's FlopCounterMode from the
  layer shapes: G, VGG19 to conv4_4 ×3, both discriminators, forward and backward);
- inference ms/image at 128–720² per precision/layout (G + guided filter), with GFLOP/s; test.py's path for a
  512² photo; ONNX Runtime on the exported graph; bf16 against fp32 on real photos, in levels of 255;
- the two no-grad VGG forwards (photo, superpixel target) as one batched call against two calls.
Data: --photo_dir/--cartoon_dir, else a demo set built in a temporary folder (removed at the end).
"""
import argparse
import datetime
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.flop_counter import FlopCounterMode

from datasets.folder import ImageFolder, batches
from datasets.make_demo import SHOWCASE
from inference.cartoonise import Cartooniser, load_generator
from losses.superpixel import Superpixels
from losses.weights import LossWeights
from models.conventions import generate
from models.discriminator import PatchDiscriminator
from models.generator import Generator
from models.vgg import lsuv_vgg
from training.steps import Nets, train_step
from utils.image_io import skimage_photo, to_batch
from utils.runtime import Precision, cpu_name, native_bf16_cpu, resolve_precision

PEAK_TFLOPS = {"H100": {"fp32": 67, "bf16": 989}, "H200": {"fp32": 67, "bf16": 989}}  # dense, SXM datasheets


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def build_nets(precision: Precision) -> Nets:
    torch.manual_seed(0)
    G, Dt, Ds = (precision.layout(m.to(precision.device)) for m in (Generator(), PatchDiscriminator(1),
                                                                     PatchDiscriminator(3)))
    vgg = precision.layout(lsuv_vgg().to(precision.device))  # speed does not depend on the weights' values
    return Nets(G, Dt, Ds, vgg, torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.99)),
                torch.optim.Adam([*Dt.parameters(), *Ds.parameters()], 2e-4, betas=(0.5, 0.99)))


def step_gflop(device, batch: int, size: int) -> float:
    """FLOPs of one training step (fp32), counted from the operators' shapes, in GFLOP."""
    nets, precision = build_nets(Precision(device)), Precision(device)
    x = torch.rand(batch, 3, size, size, device=device) * 2 - 1
    with FlopCounterMode(display=False) as counter:
        train_step(x, x, nets, LossWeights(), precision, Superpixels(0))
    return counter.get_total_flops() / 1e9


def train_rate(device, photos, cartoons, batch, steps, warmup, precision: Precision, pipelined=True, workers=1,
               sp_workers=1, method="skimage") -> dict:
    """Steps/s over ``steps`` steps after ``warmup``: the project's path, or the original port's synchronous one."""
    nets, weights, pin = build_nets(precision), LossWeights(), device.type == "cuda"
    if pipelined:
        photo_it = batches(photos, batch, 0, workers=workers, pin_memory=pin)
        cartoon_it = batches(cartoons, batch, 1, workers=workers, pin_memory=pin)
        nxt = lambda: (next(photo_it), next(cartoon_it))  # noqa: E731
        superpixels = Superpixels(sp_workers, method=method)
    else:  # the original port's pattern: next(iter(loader)) every step, SLIC serially in the training process
        cv2.setNumThreads(1)
        photo_dl = DataLoader(photos, batch, shuffle=True, num_workers=workers, drop_last=True)
        cartoon_dl = DataLoader(cartoons, batch, shuffle=True, num_workers=workers, drop_last=True)
        nxt = lambda: (next(iter(photo_dl)), next(iter(cartoon_dl)))  # noqa: E731
        superpixels = Superpixels(0)
    try:
        for i in range(warmup + steps):
            if i == warmup:
                sync(device)
                t0 = time.perf_counter()
            p, c = nxt()
            photo = precision.layout(p["image"].to(device, non_blocking=True))
            cartoon = precision.layout(c["image"].to(device, non_blocking=True))
            train_step(photo, cartoon, nets, weights, precision, superpixels)
        sync(device)
        dt = time.perf_counter() - t0
    finally:
        superpixels.close()
    return {"steps_per_s": steps / dt, "ms_per_step": 1000 * dt / steps}


def timed(fn, device, repeats: int) -> float:
    """Seconds per call, after one warm-up call."""
    fn()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    sync(device)
    return (time.perf_counter() - t0) / repeats


@torch.inference_mode()
def inference(device, G, sizes, batch, repeats, precision: Precision) -> dict:
    G = precision.layout(G)
    out = {}
    for size in sizes:
        x = precision.layout(torch.rand(batch, 3, size, size, device=device) * 2 - 1)
        with FlopCounterMode(display=False) as counter:
            generate(G, x)
        with precision.autocast():
            dt = timed(lambda: generate(G, x), device, repeats)
        gflop = counter.get_total_flops() / 1e9
        out[str(size)] = {"batch": batch, "ms_per_image": 1000 * dt / batch, "gflop_per_s": gflop / dt}
    return out


def real_photos(side: int) -> list[np.ndarray]:
    return [cv2.resize(skimage_photo(n), (side, side), interpolation=cv2.INTER_AREA) for n in SHOWCASE]


def bf16_vs_fp32(G, device) -> dict:
    """test.py's uint8 outputs in bf16 + channels_last against fp32, on real photos at 512²."""
    photos = real_photos(512)
    fp32 = Cartooniser(G, device, 720, Precision(device, "fp32"))(photos)
    bf16 = Cartooniser(G, device, 720, Precision(device, "bf16", True))(photos)
    diff = np.stack([np.abs(a.astype(int) - b) for a, b in zip(fp32, bf16)])
    return {"mean_levels": float(diff.mean()), "max_levels": int(diff.max()), "photos": len(photos)}


def onnx_runtime(G, device, repeats) -> dict:
    """ONNX Runtime (CPU, fp32) on the exported graph against PyTorch fp32, one 512² photo."""
    try:
        import onnxruntime as ort

        from inference.export import export_onnx
    except ImportError as e:
        return {"skipped": str(e)}
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(G.cpu().float(), Path(tmp) / "g.onnx")
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        x = to_batch(real_photos(512)[:1])
        got = session.run(None, {"photo": x.numpy()})[0]
        dt = timed(lambda: session.run(None, {"photo": x.numpy()}), torch.device("cpu"), repeats)
    with torch.inference_mode():
        want = generate(G.cpu(), x).numpy()
    G.to(device)
    return {"ms_per_image": 1000 * dt, "max_abs_diff_vs_torch": float(np.abs(got - want).max())}


@torch.no_grad()
def vgg_batching(device, batch, size, repeats, precision: Precision) -> dict:
    """The two no-grad VGG forwards of a step (photo, superpixel target): two calls against one batched call."""
    vgg = precision.layout(lsuv_vgg().to(device))
    a, b = (precision.layout(torch.rand(batch, 3, size, size, device=device)) for _ in range(2))
    with precision.autocast():
        two = timed(lambda: (vgg(a), vgg(b)), device, repeats)
        one = timed(lambda: vgg(torch.cat([a, b])), device, repeats)
    return {"two_calls_ms": 1000 * two, "one_batched_call_ms": 1000 * one, "speedup": two / one}


def table(rows) -> str:
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer steps and sizes (about 2 minutes on a 2-core CPU)")
    p.add_argument("--photo_dir")
    p.add_argument("--cartoon_dir")
    p.add_argument("--model", default=None, help="a generator (name or path) for the inference rows; else random")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch_size", type=int, default=None, help="default: 16 on GPU, 4 on CPU")
    p.add_argument("--image_size", type=int, default=None, help="default: 256 on GPU, 128 on CPU")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--out", default="bench/results")
    return p


class Setup:
    """What every measure shares: the device and its name, batch and crop size, helper processes, repeats, the
    precisions to compare (bf16 only where the hardware computes it)."""

    def __init__(self, opts):
        self.device = torch.device(opts.device)
        self.gpu = self.device.type == "cuda"
        torch.backends.cudnn.benchmark = self.gpu
        self.batch = opts.batch_size or (16 if self.gpu else 4)
        self.size = opts.image_size or (256 if self.gpu else 128)
        cores = len(os.sched_getaffinity(0))
        self.workers = opts.workers if opts.workers is not None else min(8, max(1, cores // 2))
        self.sp_workers = max(1, cores - 2 * self.workers) if cores > 2 else 1
        self.steps, self.warmup, self.repeats = (4, 2, 2) if opts.quick else (12, 3, 5)
        self.name = torch.cuda.get_device_name(self.device) if self.gpu else cpu_name()
        self.native = self.gpu or native_bf16_cpu()
        self.auto = resolve_precision(self.device)
        self.variants = {"fp32": ("fp32", False), "fp32 + channels_last": ("fp32", True)}
        if self.native:
            self.variants["bf16 + channels_last"] = ("bf16", True)
        self.sizes = (128, 256, 512) if opts.quick else (128, 256, 512, 720)

    def header(self, now) -> dict:
        result = {"device": self.name, "date": now.isoformat(timespec="seconds"), "torch": torch.__version__,
                  "auto": f"{self.auto[0]}, {'channels_last' if self.auto[1] else 'contiguous'} ({self.auto[2]})",
                  "batch_size": self.batch, "image_size": self.size, "workers": self.workers,
                  "superpixel_workers": self.sp_workers}
        if not self.native:
            result["bf16_skipped"] = "no native bf16 on this CPU (emulated bf16 ran a VGG19 forward 130× slower)"
        return result


def training_rows(opts, setup: Setup) -> tuple[float, dict]:
    """(GFLOP per step, {path: steps/s, ms, GFLOP/s, ratio to the original port's synchronous path})."""
    device, batch, size = setup.device, setup.batch, setup.size
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        if opts.photo_dir and opts.cartoon_dir:
            photo_dir, cartoon_dir = Path(opts.photo_dir), Path(opts.cartoon_dir)
        else:
            from datasets.make_demo import main as make_demo
            make_demo(["--out", tmp, "--num", "32"])
            photo_dir, cartoon_dir = Path(tmp) / "photo", Path(tmp) / "cartoon"
        photos, cartoons = ImageFolder(photo_dir, size), ImageFolder(cartoon_dir, size)
        gflop = step_gflop(device, batch, size)
        run = dict(photos=photos, cartoons=cartoons, batch=batch, steps=setup.steps, warmup=setup.warmup)
        train = {"original port's synchronous path, fp32": train_rate(device, **run, precision=Precision(device),
                                                                      pipelined=False, workers=setup.workers)}
        method = "torch" if setup.gpu else "skimage"
        for label, (prec, cl) in setup.variants.items():
            train[f"project, {label}"] = train_rate(device, **run, precision=Precision(device, prec, cl),
                                                    pipelined=True, workers=setup.workers,
                                                    sp_workers=setup.sp_workers, method=method)
        if setup.gpu:
            train["project, bf16 + channels_last, skimage SLIC in processes"] = train_rate(
                device, **run, precision=Precision(device, "bf16", True), pipelined=True, workers=setup.workers,
                sp_workers=setup.sp_workers, method="skimage")
    original = train["original port's synchronous path, fp32"]["steps_per_s"]
    for row in train.values():
        row["gflop_per_s"], row["vs_original_port"] = gflop * row["steps_per_s"], row["steps_per_s"] / original
    return gflop, train


def inference_rows(opts, setup: Setup) -> dict:
    """G + its filter per size and precision, test.py's path on a 512² photo, bf16 against fp32 on real photos,
    ONNX Runtime (CPU), and one batched VGG call against two."""
    from models.released.pretrained import resolve_model

    device, repeats = setup.device, setup.repeats
    G = load_generator(resolve_model(opts.model), device) if opts.model else Generator().to(device).eval()
    inf_batch = 64 if setup.gpu else 1
    result = {"inference_model": opts.model or "random weights", "inference_batch": inf_batch,
              "inference": {label: inference(device, G, setup.sizes, inf_batch, repeats, Precision(device, prec, cl))
                            for label, (prec, cl) in setup.variants.items()}}
    photo = real_photos(512)[0]
    for label, precision in {"auto": setup.auto[:2], "fp32": ("fp32", False)}.items():
        cartoonise = Cartooniser(G, device, 720, Precision(device, *precision), 1)
        result[f"test_py_512_ms_{label}"] = 1000 * timed(lambda: cartoonise([photo]), device, repeats)
    if setup.native:
        result["bf16_vs_fp32_512"] = bf16_vs_fp32(G, device)
    if not setup.gpu:
        result["onnxruntime_512"] = onnx_runtime(G, device, repeats)
    best = "bf16 + channels_last" if setup.native else "fp32"
    result["vgg_no_grad_batching"] = vgg_batching(device, setup.batch, setup.size, repeats,
                                                  Precision(device, *setup.variants[best]))
    return result


def report_rows(result: dict, setup: Setup) -> list[tuple[str, str]]:
    """The printed table's rows."""
    peak = next((v for k, v in PEAK_TFLOPS.items() if k in setup.name), None) if setup.gpu else None
    train, gflop = result["train"], result["gflop_per_step"]
    rows = [("device", f"{setup.name}, torch {torch.__version__}"), ("--precision auto picks", result["auto"]),
            ("training", f"batch {setup.batch}, {setup.size}², {gflop:.0f} GFLOP/step, {setup.workers} loader / "
                         f"{setup.sp_workers} superpixel workers" + (f"; peak {peak}" if peak else
                                                                      "; peak FLOP/s: not known here"))]
    rows += [(f"  {k}", f"{v['steps_per_s']:.3f} steps/s ({v['ms_per_step']:.0f} ms), {v['gflop_per_s']:.0f} "
                        f"GFLOP/s, {v['vs_original_port']:.2f}× the original port's path") for k, v in train.items()]
    if "bf16_skipped" in result:
        rows.append(("  bf16", result["bf16_skipped"]))
    rows.append((f"inference, batch {result['inference_batch']}, G + guided filter ({result['inference_model']})", ""))
    for label, per_size in result["inference"].items():
        rows += [(f"  {s}², {label}", f"{v['ms_per_image']:.1f} ms/image, {v['gflop_per_s']:.0f} GFLOP/s")
                 for s, v in per_size.items()]
    rows.append(("test.py path, one 512² photo", f"auto {result['test_py_512_ms_auto']:.0f} ms, fp32 "
                                                 f"{result['test_py_512_ms_fp32']:.0f} ms"))
    if "onnxruntime_512" in result and "ms_per_image" in result["onnxruntime_512"]:
        o = result["onnxruntime_512"]
        rows.append(("ONNX Runtime fp32, 512²",
                     f"{o['ms_per_image']:.0f} ms (max |Δ| vs torch {o['max_abs_diff_vs_torch']:.1e})"))
    if "bf16_vs_fp32_512" in result:
        b = result["bf16_vs_fp32_512"]
        rows.append(("bf16 vs fp32 output, 4 real photos 512²",
                     f"mean {b['mean_levels']:.2f}, max {b['max_levels']} levels of 255"))
    v = result["vgg_no_grad_batching"]
    rows.append(("VGG no-grad forwards: 2 calls / 1 batched",
                 f"{v['two_calls_ms']:.0f} / {v['one_batched_call_ms']:.0f} ms ({v['speedup']:.2f}×)"))
    rows.append(("peak CPU RSS", f"{result['cpu_peak_rss_gib']:.2f} GiB"))
    return rows


def main(argv=None):
    """Parse → measure training → measure inference → print the table and write the JSON."""
    opts = parser().parse_args(argv)
    setup, now = Setup(opts), datetime.datetime.now()
    result = setup.header(now)
    result["gflop_per_step"], result["train"] = training_rows(opts, setup)
    result.update(inference_rows(opts, setup))
    result["cpu_peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(table(report_rows(result, setup)))
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{'cuda' if setup.gpu else 'cpu'}-{now.strftime('%Y-%m-%dT%H%M%S')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {path}")


if __name__ == "__main__":
    main()
