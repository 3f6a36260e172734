"""The face-model study: fine-tune a released generator with several ways of holding its style ("arms"), each at
several landmark weights (--w5) and seeds, and score every run on held-out photos.

    python -m studies.face_study --pretrained facial --photo_dir selfie2anime/photo \
        --cartoon_dir selfie2anime/cartoon --out results/face_study --image_size 256 --train_iter 300 \
        --seeds 0 1 --weights 0 1 --baseline whitebox \
        --arm "lsuv: --vgg_weights random --w3 2e5 --w4 2e5" \
        --arm "effnet: --vgg_weights efficientnet-lite0 --w3 3e3 --w4 3e3" \
        --arm "anchor=0.5,1,2: --w0 0 --w1 0 --w2 0 --w3 0 --w4 0 --w6 1 --vgg_weights random"

An arm is ``NAME[=W5,W5,...]: train.py flags``; without ``=…`` it runs every --weights value. Holds out the last
--holdout photos (sorted) and trains on the rest. Each run is train.py (model_version 9000 + 1000·arm + 100·seed +
weight index) fine-tuning --pretrained; a finished run and its score are reused, so a killed study resumes where
it stopped. While a run trains, 32 held-out photos are measured every --eval_every steps (its eval.jsonl and
TensorBoard events). Scored at the end on all the held-out photos (test.py --eval's measures): landmark NME, face
found, identity distance, flat share, distance moved from the photo, high-frequency ratio; and each arm's time per
step. Writes study.json, table.md (means over seeds), tradeoff.png (NME against flat share and high-frequency
ratio, one line per arm through its --w5 values) and sheet.jpg (photo | the untouched model | each arm at each
--w5, first seed); with --show, showcase.jpg: the same columns on faces the project may show.
"""
import argparse
import json
from pathlib import Path

import numpy as np

import train
from inference.cartoonise import Cartooniser, load_generator
from inference.evaluate import measures
from models.released.pretrained import model_name, resolve_model
from studies.reader_check import ReaderCheck
from utils.checkpoint import checkpoint_path, list_checkpoints
from utils.errors import UserError, cli
from utils.faces.metrics import FaceMetrics
from utils.image_io import list_images, read_image, read_images, write_image
from utils.runtime import pick_device

COLUMNS = (("landmark_nme", "landmark NME ↓", "{:.4f}"), ("faces_found", "face found", "{}"),
           ("identity_distance", "identity dist ↓", "{:.3f}"), ("flat_share", "flat share", "{:.2f}"),
           ("line_share", "line share", "{:.4f}"), ("high_frequency_ratio", "high-freq. ratio", "{:.2f}"),
           ("photo_distance", "moved from photo", "{:.1f}"), ("reader_nme", "reader NME", "{:.4f}"),
           ("ms_per_step", "ms/step", "{:.0f}"))


def parse_arm(text: str, weights: list[float]) -> tuple[str, list[float], list[str]]:
    """'NAME[=W,W]: flags' -> (name, its --w5 values, its train.py flags)."""
    head, sep, flags = text.partition(":")
    name, _, values = head.strip().partition("=")
    if not sep or not name:
        raise UserError(f"--arm '{text}': write NAME[=W5,W5,...]: train.py flags")
    try:
        ws = [float(v) for v in values.split(",")] if values else weights
    except ValueError:
        raise UserError(f"--arm '{text}': the values after '=' are --w5 weights (numbers)") from None
    return name, ws, flags.split()


def split(photo_dir: Path, out: Path, holdout: int) -> list[Path]:
    """Link all but the last ``holdout`` photos into out/train_photo and the rest into out/held_out (train.py's
    --eval_dir while a run goes on); return the held-out files."""
    files = list_images(photo_dir)
    if len(files) <= holdout:
        raise UserError(f"{photo_dir}: {len(files)} photos, need more than --holdout {holdout}")
    for folder, part in (("train_photo", files[:-holdout]), ("held_out", files[-holdout:])):
        for f in part:
            link = out / folder / f.relative_to(photo_dir)
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                link.symlink_to(f.resolve())
    return files[-holdout:]


def score(metrics: FaceMetrics, photos, cartoons) -> dict:
    face, style = measures(photos, cartoons, metrics)  # test.py --eval's measures
    faces = face.get("faces", 0)
    found = f"{round(face['cartoon_face_detected'] * faces)}/{faces}" if faces else "0/0"
    keys = ("landmark_nme", "cartoon_face_detected", "identity_distance", "identity_kept", "faces")
    return {**{k: face.get(k, float("nan")) for k in keys}, "faces_found": found, **style}


def step_time(log: Path) -> float:
    """Mean ms per step of a finished run, from its losses.jsonl (first step excluded: warm-up)."""
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    if len(rows) < 3:
        return float("nan")
    return 1000 * (rows[-1]["time"] - rows[0]["time"]) / (rows[-1]["step"] - rows[0]["step"])


def mean_rows(rows: list[dict]) -> dict:
    out = {}
    for k, v in rows[0].items():
        if isinstance(v, (int, float)):
            out[k] = float(np.mean([r[k] for r in rows]))
        elif k == "faces_found":
            out[k] = " + ".join(r[k] for r in rows)
        elif isinstance(v, dict) and all(isinstance(r.get(k), dict) for r in rows):
            out[k] = mean_rows([r[k] for r in rows])  # the aligned crops' scores
    return out


def aligned_crops(photos: list[np.ndarray]) -> list[np.ndarray]:
    """Each photo's best face as --align crops it (the faces inference.faces accepts; FFHQ framing, 256²)."""
    from utils.faces.align import align_face
    from utils.faces.landmarks import FaceLandmarks

    finder, crops = FaceLandmarks(), []
    for photo in photos:
        faces = finder.accepted_faces(photo)
        if faces:
            crops.append(align_face(photo, finder.points(photo, faces[0][1]), 256)[0])
    return crops


PHOTOS = "photos themselves"  # the baseline that scores the photos against themselves


AIM = (("landmark_nme", "below", "whitebox"), ("identity_distance", "below", "whitebox"),
       ("identity_distance", "below", "facial"), ("flat_share", "at least", "facial"),
       ("high_frequency_ratio", "at most", "facial"))


def verdict(row: dict, baselines: dict) -> str:
    """Which parts of the aim a row meets, on the whole photos and on the aligned crops: NME below White-box's,
    identity distance below both released models', flat share at least the face model's, high-frequency ratio at
    most the face model's. Missed parts say by how much."""
    notes = []
    for view in ("whole", "aligned"):
        mine = row if view == "whole" else row.get("aligned", {})
        for key, how, model in AIM:
            base = next((b for name, b in baselines.items() if name.startswith(f"{model} ")), None)
            base = base if view == "whole" or base is None else base.get("aligned")
            if base is None or key not in mine or key not in base:
                continue
            a, b = mine[key], base[key]
            ok = a < b if how == "below" else (a >= b if how == "at least" else a <= b)
            if not ok:
                notes.append(f"{view}: {key} {a:.4g} not {how} {model}'s {b:.4g}")
    return "meets the aim" if not notes else "; ".join(notes)


def markdown(rows: dict, columns=COLUMNS, first: str = "run") -> str:
    """A Markdown table: a row per entry of ``rows``, a column per (key, title, format) of ``columns``; a missing or
    NaN value is '–'."""
    lines = [f"| {first} | " + " | ".join(t for _, t, _ in columns) + " |", "| --- |" + " --- |" * len(columns)]
    for name, m in rows.items():
        cells = [fmt.format(m[k]) if k in m and m[k] == m[k] else "–" for k, _, fmt in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def showcase(images: list[str], checkpoints: list[Path], path: Path, device) -> Path:
    """photo | each model, a row per face found in ``images`` (eyes-level crops, 256², FFHQ framing)."""
    from utils.faces.align import align_face
    from utils.faces.landmarks import FaceLandmarks

    finder, crops = FaceLandmarks(), []
    for image in images:
        photo = read_image(image)
        for score, box in finder.faces(photo):
            if score >= 0.5:
                crops.append(align_face(photo, finder.points(photo, box), 256)[0])
    if not crops:
        raise UserError(f"--show: no face found in {', '.join(images)}")
    columns = [crops] + [Cartooniser(load_generator(c, device), device, 256)(crops) for c in checkpoints]
    return write_image(path, np.concatenate([np.concatenate([c[i] for c in columns], 1) for i in range(len(crops))]))


def read_frontier(path: str) -> dict:
    """--frontier: {label: [{w5, landmark_nme, flat_share, high_frequency_ratio}, ...]}, or one line saying why
    not."""
    keys = {"landmark_nme", "flat_share", "high_frequency_ratio"}
    try:
        earlier = json.loads(Path(path).read_text())
    except OSError as e:
        raise UserError(f"--frontier {path}: cannot read it ({e.strerror})") from None
    except ValueError as e:
        raise UserError(f"--frontier {path}: not JSON ({e})") from None
    if not isinstance(earlier, dict) or not all(
            isinstance(v, list) and all(isinstance(p, dict) and keys <= set(p) for p in v) for v in earlier.values()):
        raise UserError(f"--frontier {path}: want {{label: [{{{', '.join(sorted(keys))}, w5}}, ...]}}")
    return earlier


def plot(arms: dict, baselines: dict, path: Path, earlier: dict | None = None) -> Path | None:
    """NME against flat share and against high-frequency ratio: a line per arm through its --w5 values, the
    untouched models as stars (not the photos themselves, which would squeeze the models into a corner), and
    ``earlier`` studies' arms ({label: [{w5, landmark_nme, flat_share, high_frequency_ratio}, ...]}) as grey
    dashed lines: the old frontier."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no tradeoff.png (pip install -r requirements.txt)")
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, x in zip(axes, ("flat_share", "high_frequency_ratio")):
        for (label, points), style in zip((earlier or {}).items(), ("--", ":", "-.")):
            ax.plot([p[x] for p in points], [p["landmark_nme"] for p in points], style, color="0.55", marker=".",
                    label=label)
        for name, points in arms.items():
            ws = sorted(points)
            ax.plot([points[w][x] for w in ws], [points[w]["landmark_nme"] for w in ws], "o-", label=name)
            for w in ws:
                ax.annotate(f"w5={w:g}", (points[w][x], points[w]["landmark_nme"]), fontsize=7,
                            textcoords="offset points", xytext=(4, 3))
        for name, m in baselines.items():
            if name == PHOTOS:
                continue
            ax.plot(m[x], m["landmark_nme"], "k*" if "untouched" in name else "ks", ms=9)
            ax.annotate(name, (m[x], m["landmark_nme"]), fontsize=7, textcoords="offset points", xytext=(4, -9))
        ax.set_xlabel({"flat_share": "flat share (cartoon-like →)",
                       "high_frequency_ratio": "high-frequency ratio (added lines/texture →)"}[x])
        ax.set_ylabel("landmark NME (↓)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=6, loc="upper left")  # the corner no model reaches (little flatness, large NME)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photo_dir", required=True)
    p.add_argument("--cartoon_dir", required=True)
    p.add_argument("--pretrained", required=True, help="the model every run fine-tunes (name or path)")
    p.add_argument("--baseline", nargs="*", default=[], help="more untouched models to score (names or paths)")
    p.add_argument("--arm", action="append", required=True, help="NAME[=W5,W5,...]: train.py flags")
    p.add_argument("--out", default="results/face_study")
    p.add_argument("--holdout", type=int, default=100)
    p.add_argument("--image_size", type=int, default=256)
    p.add_argument("--batch_size", type=int, default=4)
    p.add_argument("--train_iter", type=int, default=300)
    p.add_argument("--eval_size", type=int, default=256,
                   help="cap on the long side of the held-out photos as the models see them (selfie2anime: 256, "
                        "their own size); the same for every model, whatever --image_size they trained at")
    p.add_argument("--device", default="auto")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--weights", type=float, nargs="+", default=[0.0, 1.0], help="--w5 values of every arm")
    p.add_argument("--sheet_rows", type=int, default=8)
    p.add_argument("--report", action="store_true",
                   help="train nothing: table, plot and sheets of the runs finished so far (means over their seeds)")
    p.add_argument("--show", nargs="*", default=[],
                   help="images the project may show: their faces (aligned, 256²) through the same models, "
                        "showcase.jpg (the held-out photos are for research use and stay out of a README)")
    p.add_argument("--frontier", default=None,
                   help="JSON of earlier studies' points, {label: [{w5, landmark_nme, flat_share, "
                        "high_frequency_ratio}, ...]}, drawn in tradeoff.png as the old frontier "
                        "(docs/face_study_frontier.json)")
    p.add_argument("--eval_every", type=int, default=100,
                   help="held-out measures while each run trains (train.py --eval_dir, 32 photos); 0: none")
    return p


def run_version(arm: int, seed: int, weight: int) -> int:
    """The --model_version of a run: 9000 + 1000·arm + 100·seed + weight (indices in the command's order). Fixed,
    so that a study stopped and started again finds each run's checkpoints."""
    return 9000 + 1000 * arm + 100 * seed + weight


class HeldOutScorer:
    """The held-out photos, whole and as --align crops their faces, and every model's measures on both views."""

    def __init__(self, photos: list[np.ndarray], eval_size: int, device):
        self.photos, self.eval_size, self.device = photos, eval_size, device
        self.metrics = FaceMetrics()
        self.aligned = aligned_crops(photos)  # the same photos as --align crops their faces
        self.readers = {"whole": ReaderCheck(photos), "aligned": ReaderCheck(self.aligned)}
        print(f"held out: {len(photos)} photos, {len(self.aligned)} aligned face crops")
        for view, check in self.readers.items():
            f = check.floor()
            print(f"the landmark reader against dlib on the {view} photos ({f['faces']} faces): mean {f['mean']:.4f}, "
                  f"median {f['median']:.4f}")

    def cartoonise(self, path, images=None) -> list[np.ndarray]:
        G = load_generator(path, self.device)
        return Cartooniser(G, self.device, max_side=self.eval_size, batch_size=16)(
            self.photos if images is None else images)

    def both(self, path, images=None) -> dict:
        """Scores on the whole held-out photos (``images``: their cartoons, when made already) and on the crops."""
        images = images if images is not None else self.cartoonise(path)
        aligned = self.cartoonise(path, self.aligned) if self.aligned else []
        return {**score(self.metrics, self.photos, images), "reader_nme": self.readers["whole"].nme(images),
                "aligned": {**score(self.metrics, self.aligned, aligned),
                            "reader_nme": self.readers["aligned"].nme(aligned)} if self.aligned else {}}

    def photos_themselves(self) -> dict:
        return {**score(self.metrics, self.photos, self.photos), "reader_nme": 0.0,
                "aligned": {**score(self.metrics, self.aligned, self.aligned), "reader_nme": 0.0}
                if self.aligned else {}}


def baseline_key(path) -> str:
    """A model file as the baseline cache knows it: its path, size and modification time."""
    stat = Path(path).stat()
    return f"{path} ({stat.st_size} bytes, mtime {stat.st_mtime_ns})"


def baselines_of(opts, start, scorer: HeldOutScorer, out: Path) -> dict:
    """The untouched models (labelled by registry name, not by the path they were read from) and the photos; each
    score is cached in out/scores/baselines.json under ``baseline_key`` of the file it was made from, so a study
    started again does not score them again, and a file replaced at the same path is scored afresh."""
    cache = out / "scores" / "baselines.json"
    known = json.loads(cache.read_text()) if cache.is_file() else {}

    def cached(key: str, make) -> dict:
        if "reader_nme" not in known.get(key, {}):  # scored before the reader's column existed: again
            known[key] = make()
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(known, indent=1) + "\n")
        return known[key]

    found = {f"{model_name(opts.pretrained)} (untouched)": cached(baseline_key(start), lambda: scorer.both(start))}
    for spec in opts.baseline:
        path = resolve_model(spec)
        found[f"{model_name(spec)} (untouched)"] = cached(baseline_key(path), lambda: scorer.both(path))
    found[PHOTOS] = cached(PHOTOS, scorer.photos_themselves)
    return found


def train_run(opts, out: Path, start, version: int, w: float, seed: int, flags: list[str]) -> None:
    """train.py for one run (resumed when an earlier session was stopped inside it)."""
    save_dir = out / "saved_models"
    watch = ["--eval_dir", str(out / "held_out"), "--eval_every", str(opts.eval_every)] if opts.eval_every else []
    again = ["--resume"] if list_checkpoints(save_dir, f"gen{version}") else []
    train.main([*again, "--photo_dir", str(out / "train_photo"), "--cartoon_dir", opts.cartoon_dir,
                "--image_size", str(opts.image_size), "--batch_size", str(opts.batch_size),
                "--save_dir", str(save_dir), "--log_dir", str(out / "logs"), "--device", opts.device,
                "--total_iter", str(opts.train_iter), "--save_every", "100",
                "--keep_last", "1", "--model_version", str(version), "--w5", f"{w:g}",
                "--seed", str(seed), "--pretrained", str(start), *watch, *flags])


def run_arms(opts, arms, out: Path, start, scorer: HeldOutScorer, sheet_columns: dict) -> tuple[dict, list]:
    """Train (or find) every run and score it, every arm's first seed first, so that a study cut short still
    compares the arms. Returns ({run name: measures}, the first seed's final checkpoints); the first seed's
    cartoons are added to ``sheet_columns``. Scores are cached per run in scores/gen{version}.json."""
    runs, finals = {}, []
    scores = out / "scores"
    scores.mkdir(parents=True, exist_ok=True)
    for seed in opts.seeds:
        for ai, (arm, ws, flags) in enumerate(arms):
            for wi, w in enumerate(ws):
                version, name = run_version(ai, seed, wi), f"{arm}, w5 = {w:g}, seed {seed}"
                final = checkpoint_path(out / "saved_models", f"gen{version}", opts.train_iter)
                cached = scores / f"gen{version}.json"
                if not final.is_file() and opts.report:
                    print(f"== {name}: not trained yet (--report)")
                    continue
                if not final.is_file():
                    print(f"== {name}: train.py --model_version {version}")
                    train_run(opts, out, start, version, w, seed, flags)
                    cached.unlink(missing_ok=True)
                need_images = seed == opts.seeds[0]
                fresh = cached.is_file() and "aligned" in json.loads(cached.read_text())
                if fresh and not need_images:
                    runs[name] = json.loads(cached.read_text())
                    continue
                images = scorer.cartoonise(final)
                if need_images:
                    sheet_columns[f"{arm} w5={w:g}"] = images
                    finals.append(final)
                if fresh:
                    runs[name] = json.loads(cached.read_text())
                    continue
                runs[name] = {**scorer.both(final, images), "ms_per_step":
                              step_time(out / "logs" / f"gen{version}" / "losses.jsonl"), "arm": arm, "w5": w,
                              "seed": seed, "flags": flags}
                cached.write_text(json.dumps(runs[name], indent=1) + "\n")
                print(markdown({name: runs[name]}).splitlines()[-1])
    return runs, finals


def seed_means(opts, arms, runs: dict) -> tuple[dict, dict]:
    """({arm, w5 (mean of n seeds): measures}, {arm: {w5: measures}} for the plot's curves)."""
    means, curves = {}, {}
    for arm, ws, _ in arms:
        for w in ws:
            rows = [runs[key] for s in opts.seeds if (key := f"{arm}, w5 = {w:g}, seed {s}") in runs]
            if not rows:
                continue
            means[f"{arm}, w5 = {w:g} (mean of {len(rows)} seed{'s' * (len(rows) > 1)})"] = m = mean_rows(rows)
            curves.setdefault(arm, {})[w] = m
    return means, curves


def report(opts, out: Path, baselines: dict, runs: dict, means: dict, curves: dict, sheet_columns: dict,
           showcase_runs: list, earlier, device, floors: dict) -> None:
    """table.md (whole photos and aligned crops, each run's verdict, the landmark reader's floor: ``floors``, {view:
    ReaderCheck.floor()}), study.json, sheet.jpg, tradeoff.png and,
    with --show, showcase.jpg."""
    table = markdown({**baselines, **means})
    table_aligned = markdown({name: {**m.get("aligned", {}), "ms_per_step": float("nan")}
                              for name, m in {**baselines, **means}.items()})
    verdicts = {name: verdict(m, baselines) for name, m in means.items()}
    photos = sheet_columns["photo"]
    grid = [np.concatenate([c[i] for c in sheet_columns.values()], 1)
            for i in range(min(opts.sheet_rows, len(photos)))]
    sheet = write_image(out / "sheet.jpg", np.concatenate(grid, 0))
    if opts.show:
        showcase(opts.show, showcase_runs, out / "showcase.jpg", device)
    figure = plot(curves, baselines, out / "tradeoff.png", earlier)
    settings = {k: getattr(opts, k) for k in ("pretrained", "baseline", "arm", "image_size", "eval_size", "batch_size",
                                              "train_iter", "holdout", "seeds", "weights")}
    (out / "study.json").write_text(json.dumps({"settings": settings, "baselines": baselines, "runs": runs,
                                                "means": means, "verdicts": verdicts, "reader_floor": floors},
                                               indent=1) + "\n")
    text = (f"{table}\n\nThe same models on the held-out photos' aligned face crops (as --align crops them):\n\n"
            f"{table_aligned}\n\n" + "\n".join(f"- {name}: {v}" for name, v in verdicts.items()) + "\n\n" +
            "\n".join(f"The landmark reader against dlib on the {view} photos ({f['faces']} faces): mean "
                      f"{f['mean']:.4f}, median {f['median']:.4f} (its floor)." for view, f in floors.items()))
    (out / "table.md").write_text(text + "\n")
    print(text)
    print(f"sheet ({' | '.join(sheet_columns)}): {sheet}\nplot: {figure}\nmetrics: {out / 'study.json'}")


@cli
def main(argv=None):
    """Parse → hold out and score the untouched models → train and score the arms → the report."""
    opts = parser().parse_args(argv)
    arms = [parse_arm(a, opts.weights) for a in opts.arm]
    earlier = read_frontier(opts.frontier) if opts.frontier else None  # before hours of training, not after
    out = Path(opts.out)
    held_out = split(Path(opts.photo_dir), out, opts.holdout)
    start = resolve_model(opts.pretrained)
    photos, unreadable = read_images(held_out)
    for reason in unreadable:
        print(f"skipped {reason}")
    device = pick_device(opts.device)
    scorer = HeldOutScorer(photos, opts.eval_size, device)
    baselines = baselines_of(opts, start, scorer, out)
    sheet_columns = {"photo": photos, f"{opts.pretrained}": scorer.cartoonise(start)}
    runs, finals = run_arms(opts, arms, out, start, scorer, sheet_columns)
    means, curves = seed_means(opts, arms, runs)
    floors = {view: check.floor() for view, check in scorer.readers.items()}
    report(opts, out, baselines, runs, means, curves, sheet_columns, [start, *finals], earlier, device, floors)


if __name__ == "__main__":
    main()
