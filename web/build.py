"""What the page needs besides its own files, made on first run and again when stale:

- ``ort/``: ONNX Runtime Web's ES modules and .wasm files, copied from the npm package pinned in package.json
  and package-lock.json (``npm ci`` when it is missing): no CDN, so the page works offline and on an intranet;
- ``models/{name}_{size}.onnx``: each model at each size as a static-shape PixelGraph (canvas pixels in and out,
  strength as an input; inference.export), exported again when older than its checkpoint;
- ``models/face_detector.onnx``: UltraFace (``detector/``, MIT) with its weights out of the graph's inputs, which
  frames the face for the camera (``js/framing.js``);
- ``models.json``: what the page offers: each model's sizes, licence and what it is (and whether it is the camera's
  default: the real-time model), the models that could not be had, with why (offline, the downloadable ones), and
  the face detector.
"""
import json
import shutil
import subprocess
from pathlib import Path

WEB = Path(__file__).resolve().parent
# the runtime files the page imports: the WASM build (CPU) and the WebGPU build, each with its loader and binary
RUNTIME = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm",
           "ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs", "ort-wasm-simd-threaded.asyncify.wasm")
MODELS = ("facial_landmarks", "facial_live", "facial", "whitebox")  # the first: the photos' default
CAMERA_MODEL = "facial_live"  # the camera's default: the real-time model (distilled from facial_landmarks)
DETECTOR = WEB / "detector" / "version-RFB-320.onnx"  # UltraFace, byte for byte (detector/README.md)
SIZES = (256, 384, 512)


def runtime(root: Path = WEB, write=print) -> Path:
    """``root/ort/`` with RUNTIME, from node_modules (``npm ci`` first when the package is not installed)."""
    from utils.errors import UserError

    out, dist = root / "ort", root / "node_modules" / "onnxruntime-web" / "dist"
    if all((out / f).is_file() for f in RUNTIME):
        return out
    if not all((dist / f).is_file() for f in RUNTIME):
        npm = shutil.which("npm")
        if npm is None:
            raise UserError("npm not found: install Node.js (npm), or copy onnxruntime-web's dist files "
                            f"({', '.join(RUNTIME)}) into {out}")
        write(f"npm ci in {root} (onnxruntime-web, pinned by package-lock.json)")
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=root,
                              capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise UserError(f"npm ci in {root} failed: {last}")
    out.mkdir(exist_ok=True)
    for f in RUNTIME:
        shutil.copy2(dist / f, out / f)
    return out


def exports(models=MODELS, sizes=SIZES, root: Path = WEB, write=print) -> dict:
    """Export what is missing or stale; return the manifest (also written to root/models.json)."""
    from inference.cartoonise import load_generator
    from inference.export import PIXEL_GRAPH, export_pixels
    from models.released.pretrained import REGISTRY, resolve_model
    from utils.errors import UserError

    manifest = {"graph": PIXEL_GRAPH, "models": [], "unavailable": []}
    old = root / "models.json"
    outdated = not old.is_file() or json.loads(old.read_text()).get("graph") != PIXEL_GRAPH  # another graph's files
    for name in models:
        try:
            checkpoint = resolve_model(name, write)
        except UserError as e:
            manifest["unavailable"].append({"name": name, "why": str(e).split(". Get ")[0]})
            write(f"{name}: not offered ({str(e)[:160]})")
            continue
        files, G = {}, None
        for size in sizes:
            path = root / "models" / f"{Path(name).stem}_{size}.onnx"
            if outdated or not path.is_file() or path.stat().st_mtime < checkpoint.stat().st_mtime:
                G = G or load_generator(checkpoint, "cpu")
                if size % G.size_multiple:
                    continue
                path.parent.mkdir(exist_ok=True)
                write(f"exporting {name} at {size}² -> {path}")
                tmp = export_pixels(G, path.with_name(path.stem + ".tmp.onnx"), size)
                tmp.replace(path)
            files[str(size)] = str(path.relative_to(root))
        registered = REGISTRY.get(name)
        manifest["models"].append({"name": name, "sizes": files,
                                   "licence": registered.licence if registered else "see the checkpoint",
                                   "about": registered.trained_on if registered else str(checkpoint),
                                   "camera": name == CAMERA_MODEL})
    manifest["detector"] = detector(root, write)
    (root / "models.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def detector(root: Path = WEB, write=print) -> str:
    """``root/models/face_detector.onnx``: DETECTOR with the initializers removed from the graph's inputs (its old
    exporter listed every weight as an input too, so ONNX Runtime warned once per weight and folded no constant)
    and the unused ones dropped; the same computation. Returns its path relative to ``root``."""
    import onnx

    out = root / "models" / "face_detector.onnx"
    if not out.is_file() or out.stat().st_mtime < DETECTOR.stat().st_mtime:
        model = onnx.load(str(DETECTOR))
        graph = model.graph
        used = {name for node in graph.node for name in node.input}
        weights = [i for i in graph.initializer if i.name in used]  # BatchNorm's num_batches_tracked: unused
        inputs = [i for i in graph.input if i.name not in {w.name for w in graph.initializer}]
        del graph.initializer[:], graph.input[:]
        graph.initializer.extend(weights)
        graph.input.extend(inputs)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        onnx.save(model, str(tmp))
        tmp.replace(out)
        write(f"face detector -> {out}")
    return str(out.relative_to(root))
