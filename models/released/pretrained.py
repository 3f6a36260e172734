"""Named pretrained generators: downloaded on first use, verified, converted once and cached.

    python -m models.released.pretrained            # the registry as a Markdown table (the README's)
    python test.py --model whitebox --input photo.jpg
    python test.py --model facial --input photo.jpg     # the White-box author's face model
    python train.py --pretrained facial ...             # fine-tune from it

``--model`` / ``--pretrained`` take a registered name, a checkpoint file (.pth) of this project, the author's
original face-model ``weight.pth`` (a bare state dict), an OpenVINO IR .xml of it, or a folder holding a White-box
TF checkpoint (model-*.index and model-*.data-*); the last three are converted once and cached.

Files go to ``$TORCH_HOME/facial-cartoonization/NAME/`` (``$TORCH_HOME`` defaults to ``$XDG_CACHE_HOME/torch``,
then ``~/.cache/torch``, as for torchvision's weights). Each download goes to a temporary name, is checked
against the git blob id of the published file (``git hash-object FILE``) and only then renamed, so an
interrupted or corrupt download leaves nothing behind. Offline, with nothing cached, the error names the URLs
and the folder to put the files in.
"""
import argparse
import hashlib
import http.client
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch

from models.released.convert import convert_checkpoint, find_prefix
from models.released.face_state_dict import convert_state_dict
from models.released.openvino_ir import convert_ir
from utils.checkpoint import FORMAT
from utils.errors import UserError, cli
from utils.progress import progress

WB_COMMIT = "ee97277d7fd873b89e9b8e1341efe74e10dd4124"
WB_RAW = f"https://raw.githubusercontent.com/SystemErrorWang/White-box-Cartoonization/{WB_COMMIT}/test_code/saved_models"
# the face model's OpenVINO export, removed from that repository's branch in 2024, still served at this commit
FACIAL_COMMIT = "003b39d6ed1159ec9cdf0bcbf86f02424bde46d0"
FACIAL_RAW = f"https://raw.githubusercontent.com/luxonis/depthai-experiments/{FACIAL_COMMIT}/depthai-inference-engine"


@dataclass(frozen=True)
class PretrainedModel:
    name: str
    files: dict  # file name -> (URL, git blob id)
    licence: str
    trained_on: str
    source: str
    format: str = "whitebox-tf"  # "openvino-ir" (the first file is the .xml), "pth": used as it is, or "bundled":
    # a checkpoint shipped inside this repository (files: {name: (path relative to the repository, git blob id)})


# in the order the web demo offers them: the face models first (smooth faces; the fine-tune keeps the photo's
# geometry better, the README's study); on scenes without a face White-box's general model is the better one
# (docs/facial_examples.jpg)
REGISTRY = {m.name: m for m in [
    PretrainedModel(
        name="facial_landmarks",
        files={"facial_landmarks.pth": ("models/released/facial_landmarks.pth",
                                        "972580b7992b235aa277cbc89eaf56d63cb0e109")},
        licence="CC BY-NC-SA 4.0 (a derivative of Xinrui Wang's face model; non-commercial use only)",
        trained_on="`facial` fine-tuned by this project: the landmark reader's points (--landmark_view points, --w5 2) "
                   "held by the style anchor and its guards (--w6 1 --w7 30 --w8 5 --w9 30): 300 steps on 2,900 "
                   "selfie2anime selfies; the author's flat style, the photo's eyes, mouths and jaw",
        source="this repository (models/released/, fp16, 2.5 MB): round 4 of the face-model study (docs/studies.md)",
        format="bundled"),
    PretrainedModel(
        name="facial_live",
        files={"facial_live.pth": ("models/released/facial_live.pth", "292c9e884998b825c7647c109edfba0165465471")},
        licence="CC BY-NC-SA 4.0 (a derivative of Xinrui Wang's face model: distilled from facial_landmarks; "
                "non-commercial use only)",
        trained_on="the real-time face model: `facial_landmarks` distilled into a quarter of its FLOPs (16 channels, "
                   "1.05 GFLOP at 256²) on 2,900 selfie2anime selfies; the live page's camera default",
        source="this repository (models/released/, fp16, 0.66 MB): `make live_model`, then `make live_refresh` when "
               "facial_landmarks changed (docs/studies.md)",
        format="bundled"),
    PretrainedModel(
        name="facial",
        files={"facial_cartoonization_256x256.xml": (f"{FACIAL_RAW}/facial_cartoonization_256x256.xml",
                                                     "70239db1409f1781dc2e4578264e74d02eb7a07d"),
               "facial_cartoonization_256x256.bin": (f"{FACIAL_RAW}/facial_cartoonization_256x256.bin",
                                                     "906fef8dc1c30f9f79cf573cfc926a0e6dde4322")},
        licence="CC BY-NC-SA 4.0 (Xinrui Wang; non-commercial use only)",
        trained_on="faces: the White-box author's face model (SystemErrorWang/FacialCartoonization `weight.pth`, "
                   "\"an improvement based on White-box\"; training data unpublished); smoother, fewer lines",
        source=f"its OpenVINO export (BatchNorm folded, fp16): luxonis/depthai-experiments at {FACIAL_COMMIT[:7]}, "
               f"depthai-inference-engine/",
        format="openvino-ir"),
    PretrainedModel(
        name="whitebox",
        files={"model-33999.index": (f"{WB_RAW}/model-33999.index", "f1749e5542e83cf01a19aa1b2a3a7370a17efa41"),
               "model-33999.data-00000-of-00001": (f"{WB_RAW}/model-33999.data-00000-of-00001",
                                                   "785cdcb8a0ab9bf44171c087878cc84863562eab")},
        licence="CC BY-NC-SA 4.0 (White-box authors; non-commercial use only)",
        trained_on="White-box's general set: photos of scenery and people; cartoon frames of Shinkai, Hosoda "
                   "and Miyazaki films (not faces in particular)",
        source=f"SystemErrorWang/White-box-Cartoonization, test_code/saved_models at {WB_COMMIT[:7]}"),
]}


REPO = Path(__file__).resolve().parents[2]


def cache_root() -> Path:
    """$TORCH_HOME/facial-cartoonization (torch.hub.get_dir() is $TORCH_HOME/hub)."""
    return Path(torch.hub.get_dir()).parent / "facial-cartoonization"


def git_blob_id(path) -> str:
    """``git hash-object FILE``: sha1 of b'blob <size>\\0' + the file's bytes."""
    path = Path(path)
    h = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download(url: str, dest: Path, blob_id: str, timeout: float = 30.0) -> Path:
    """``url`` -> ``dest`` through ``dest``.part, with a progress bar; the blob id is checked before the rename.
    Any failure removes the partial file and raises a one-line UserError."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with open(part, "wb") as f, progress(total=total, unit="B", unit_scale=True, desc=dest.name) as bar:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    f.write(chunk)
                    bar.update(len(chunk))
        if total is not None and part.stat().st_size != total:
            raise UserError(f"{url}: download interrupted ({part.stat().st_size} of {total} bytes)")
        got = git_blob_id(part)
        if got != blob_id:
            raise UserError(f"{url}: downloaded file has git blob id {got}, expected {blob_id}; nothing was kept")
        os.replace(part, dest)
        return dest
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
        reason = getattr(e, "reason", None) or getattr(e, "strerror", None) or repr(e)
        raise UserError(f"{url}: download failed ({reason})") from None
    finally:
        part.unlink(missing_ok=True)


def bundled(model: PretrainedModel) -> Path:
    """A model shipped in the repository: its file, checked against its git blob id."""
    relative, blob = next(iter(model.files.values()))
    path = REPO / relative
    if not path.is_file():
        raise UserError(f"{path}: the model file shipped with this repository is missing; restore it with git "
                        f"checkout -- {relative}")
    if git_blob_id(path) != blob:
        raise UserError(f"{path}: not the shipped file (git blob id differs from {blob}); restore it with git "
                        f"checkout -- {relative}")
    return path


def fetch(model: PretrainedModel, root: Path | None = None, write=print) -> Path:
    """The model's checkpoint of this project, from the cache or downloaded, verified and converted."""
    if model.format == "bundled":
        return bundled(model)
    folder = (root or cache_root()) / model.name
    converted = folder / f"{model.name}.pth"
    if converted.is_file():
        return converted
    missing = [f for f in model.files if not (folder / f).is_file()]
    if missing:
        write(f"{model.name}: downloading {len(missing)} file(s) to {folder}; licence: {model.licence}; "
              f"source: {model.source}")
    for name in missing:
        url, blob = model.files[name]
        try:
            download(url, folder / name, blob)
        except UserError as e:
            urls = " ".join(u for u, _ in model.files.values())
            raise UserError(f"{e}. Get {urls} and put them in {folder}/ (or pass the folder holding them as "
                            f"the model)") from None
    for name, (_, blob) in model.files.items():
        if name not in missing and git_blob_id(folder / name) != blob:
            raise UserError(f"{folder / name}: not the published file (git blob id differs from {blob}); delete "
                            f"it to download it again")
    if model.format == "pth":
        return folder / next(iter(model.files))
    if model.format == "openvino-ir":
        convert_ir(folder / next(iter(model.files)), converted)
    else:
        convert_checkpoint(folder, converted)
    write(f"{model.name}: converted to {converted}")
    return converted


def resolve_model(spec: str, write=print, root: Path | None = None) -> Path:
    """A registered name, a .pth checkpoint, the face model's weight.pth or IR .xml (or the folder holding the
    IR), or a White-box TF checkpoint folder -> a checkpoint file path of this project."""
    if spec in REGISTRY:
        return fetch(REGISTRY[spec], root, write)
    path = Path(spec)
    if path.is_file() and path.suffix.lower() == ".xml":
        return converted_once(path, root, write, convert_ir)
    if path.is_file():
        return path if is_project_checkpoint(path) else converted_once(path, root, write, convert_state_dict)
    if path.is_dir():
        ir = sorted(path.glob("*.xml"))
        if ir and not any(path.glob("*.index")):  # the face model's OpenVINO IR (.xml beside its .bin)
            if len(ir) > 1:
                raise UserError(f"{path}: holds {len(ir)} .xml files ({', '.join(p.name for p in ir)}); pass the one "
                                f"to use")
            return converted_once(ir[0], root, write, convert_ir)
        prefix = find_prefix(path)
        index = prefix.with_name(prefix.name + ".index")
        return converted_once(index, root, write, lambda _, out: convert_checkpoint(path, out))
    names = ", ".join(REGISTRY)
    raise UserError(f"{spec}: no such file, and not a model name ({names}); a checkpoint, the face model's weight.pth "
                    f"or .xml, or a TF checkpoint folder also work")


def model_name(spec: str) -> str:
    """A short name for a model spec, for tables and plots: the registered name itself, or the name of the
    registered model whose files a folder (or file) holds (``../shared/whitebox`` -> 'whitebox'), else the file
    or folder name."""
    if spec in REGISTRY:
        return spec
    path = Path(spec)
    for model in REGISTRY.values():
        names = {Path(f).name for f in model.files}
        if path.is_dir() and all((path / name).is_file() for name in names) or path.name in names:
            return model.name
    return path.stem if path.suffix else path.name


def is_project_checkpoint(path: Path) -> bool:
    """Whether the file is a zip-format torch file tagged with this project's checkpoint format (read cheaply:
    a bare state dict such as the author's weight.pth is not)."""
    try:
        ckpt = torch.load(path, map_location="meta", weights_only=True, mmap=True)
    except Exception:  # an unreadable file: load_checkpoint reports it in one line
        return True
    return not isinstance(ckpt, dict) or "G" in ckpt or ckpt.get("format") == FORMAT


def converted_once(path: Path, root, write, convert) -> Path:
    """``convert(path, out)`` into the cache, keyed by the bytes of ``path``; reused afterwards."""
    digest = hashlib.sha1(path.read_bytes()).hexdigest()[:16]
    converted = (root or cache_root()) / "converted" / f"{digest}.pth"
    if not converted.is_file():
        convert(path, converted)
        write(f"converted {path} -> {converted}")
    return converted


def markdown_table() -> str:
    rows = ["| name | licence | trained on | source |", "| --- | --- | --- | --- |"]
    rows += [f"| `{m.name}` | {m.licence} | {m.trained_on} | {m.source} |" for m in REGISTRY.values()]
    return "\n".join(rows)


@cli
def main(argv=None):
    p = argparse.ArgumentParser(description="List the named pretrained models, or fetch one into the cache.")
    p.add_argument("--fetch", default=None, help="download, verify and convert this model now")
    opts = p.parse_args(argv)
    if opts.fetch:
        print(resolve_model(opts.fetch))
        return
    print(markdown_table())
    print(f"\ncache: {cache_root()}")


if __name__ == "__main__":
    main()
