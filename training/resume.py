"""``--resume`` restores a run, as PyTorch Lightning's ``ckpt_path`` and EDM's ``--resume`` do:

    python train.py --model_version 2 --resume                       # the newest gen2_batch_*.pth, every option
    python train.py --model_version 2 --resume --total_iter 50000    # the same run, longer: reported as an override
    python train.py --resume checkpoints/saved_models/gen2_batch_800.pth     # a given file (its run's options)

Every option of the run comes from its checkpoint; a flag given on the command line overrides it and is reported
(``--total_iter 30000 → 50000``). Overrides that would change the model or make the continuation inexact (the
crop size, the batch, the generator, the data order) are refused with the reason. The arithmetic may change
(``--precision``, ``--channels_last``; a run saved in bf16 continues in fp32 by itself on a CPU without native
bf16): the run says so when it loads the checkpoint. ``--resume`` with nothing to resume is an error naming what
it looked for.
"""
import argparse
from pathlib import Path

from utils.errors import UserError

# the flags that say what to resume, not how the run trains: never taken from the checkpoint
CONTROL = ("resume", "checkpoint", "dry_run")

# options that earlier versions saved under another name: old name -> (today's name, old value -> today's value).
# A saved name that is neither an option of today's scripts, nor here, nor in RETIRED stops the resume: a renamed
# setting must never lose its saved value in silence.
RENAMED = {"amp": ("precision", {"off": "fp32", "bf16": "bf16", "fp16": "fp16"})}
# options that earlier versions saved and that no longer exist: name -> why their value no longer matters
RETIRED: dict[str, str] = {}

# options whose change on resume is refused, with why
REFUSED = {
    "image_size": "the weights were trained on crops of this size",
    "batch_size": "the data stream and the optimiser's steps would differ from the run's",
    "channel": "it changes the generator",
    "num_blocks": "it changes the generator",
    "pretrained": "it changes the generator the run started from (and the style anchor's G0)",
    "seed": "it changes the data order: the run would not continue exactly",
    "teacher": "the student would learn another model's cartoons",
    "start": "the student's weights came from the start it had",
    "holdout": "photos held out so far would be trained on, or the other way round",
}


def given_flags(parser_factory, argv) -> set[str]:
    """The option names (dests) set on the command line, told apart from defaults: a second parser whose
    defaults are all suppressed keeps only what ``argv`` gave."""
    p = parser_factory()
    for action in p._actions:
        action.default = argparse.SUPPRESS
    return set(vars(p.parse_args(argv)))


def resume_path(opts, prefix: str) -> Path | None:
    """The checkpoint that --resume [PATH] / --checkpoint N names, or None when neither is given.

    Nothing to resume is a UserError that says where it looked."""
    from utils.checkpoint import checkpoint_path, list_checkpoints

    if opts.checkpoint is not None:
        path = checkpoint_path(opts.save_dir, prefix, opts.checkpoint)
        if not path.is_file():
            have = ", ".join(str(s) for s, _ in list_checkpoints(opts.save_dir, prefix)) or "none"
            raise UserError(f"{path}: checkpoint not found (steps saved for {prefix}: {have})")
        return path
    if opts.resume is True or opts.resume == "auto":
        found = list_checkpoints(opts.save_dir, prefix)
        if not found and opts.resume == "auto":
            return None  # nothing yet: a fresh run (make anime_model runs the same command again to go on)
        if not found:
            raise UserError(f"--resume: nothing to resume, no {prefix}_batch_*.pth in {opts.save_dir} (start the run "
                            f"without --resume, or name the checkpoint: --resume PATH)")
        return found[-1][1]
    if opts.resume:
        path = Path(opts.resume)
        if not path.is_file():
            raise UserError(f"--resume {path}: checkpoint not found")
        return path
    return None


def restore_options(opts: argparse.Namespace, given: set[str], saved: dict, path) -> tuple[argparse.Namespace, list]:
    """``opts`` with every option of ``saved`` (a checkpoint's options) not given on the command line.

    Returns (options, overrides): overrides are (name, saved value, given value) for given flags that differ.
    A refused override (REFUSED) is a UserError with the reason. Options that ``saved`` lacks (added to the
    scripts after the checkpoint was written) keep their defaults; names it has under an earlier name are
    translated (RENAMED); a name this version does not know at all is a UserError (``translate``)."""
    merged, overrides = vars(opts).copy(), []
    saved = translate(saved, merged, path)
    for name, value in saved.items():
        if name in CONTROL:
            continue
        if name not in given:
            merged[name] = value
        elif merged[name] != value:
            if name in REFUSED:
                raise UserError(f"{path}: was trained with --{name} {value}; --{name} {merged[name]} on resume is "
                                f"refused: {REFUSED[name]} (start a new --model_version instead)")
            overrides.append((name, value, merged[name]))
    return argparse.Namespace(**merged), overrides


def native_bf16_here(device: str) -> bool:
    """Whether bf16 runs natively where this run will train (any CUDA device counts: auto decides there)."""
    from utils.runtime import native_bf16_cpu, pick_device

    return pick_device(device).type != "cpu" or native_bf16_cpu()


def load_for_resume(path, kind: str) -> dict:
    """The checkpoint to continue from, read once and checked once: a checkpoint of this project, of this run's
    kind (pretrain, train, distill) first, then a valid step and options. Everything a resumed run needs (its
    options, its generator's architecture and origin, the states) comes from this one reading."""
    from utils.checkpoint import load_checkpoint  # torch: only when resuming

    ckpt = load_checkpoint(path, kind=kind)
    if not isinstance(ckpt.get("step"), int) or ckpt["step"] < 0 or not isinstance(ckpt.get("options"), dict):
        raise UserError(f"{path}: has no valid step or options to resume from")
    return ckpt


def translate(saved: dict, known: dict, path) -> dict:
    """A checkpoint's options in today's names: RENAMED ones renamed (their values mapped), RETIRED ones dropped.
    Any other name that ``known`` (today's options) lacks is a UserError naming it: its value would be lost."""
    out = {}
    for name, value in saved.items():
        if name in RENAMED:
            new, values = RENAMED[name]
            out.setdefault(new, values.get(value, value))
        elif name in known or name in CONTROL:
            out[name] = value
        elif name not in RETIRED:
            raise UserError(f"{path}: was saved with an option this version does not know, --{name} {value}: "
                            f"resume it with the version that wrote it (training.resume.RENAMED maps renamed "
                            f"options)")
    return out


def resolve_resume(parser_factory, opts: argparse.Namespace, argv, prefix_of, kind: str, write=print
                   ) -> tuple[argparse.Namespace, dict | None]:
    """With --resume [PATH] or --checkpoint N: (the run's options restored from its checkpoint, command-line flags
    overriding, ``opts.resume`` set to the checkpoint's path; the checkpoint). Unchanged and None otherwise.
    ``prefix_of(opts)`` names the run's checkpoints ('pre_gen', 'gen{model_version}'); ``kind`` is theirs."""
    path = resume_path(opts, prefix_of(opts))
    if path is None:  # --resume auto with nothing to resume yet
        opts.resume = False
        return opts, None
    ckpt = load_for_resume(path, kind)
    given = given_flags(parser_factory, argv)
    opts, overrides = restore_options(opts, given, ckpt["options"], path)
    opts.resume, opts.checkpoint = str(path), None
    arithmetic = ckpt.get("arithmetic")
    if arithmetic and opts.channels_last == "auto" and "channels_last" not in given:
        opts.channels_last = "on" if arithmetic["channels_last"] else "off"  # auto measures: keep the run's layout
    if opts.precision == "bf16" and "precision" not in given and not native_bf16_here(opts.device):
        opts.precision = "auto"
        overrides.append(("precision", "bf16", "auto (this CPU has no native bf16: emulated, it is ~100× slower)"))
    said = "; overrides: " + ", ".join(f"--{n} {a} → {b}" for n, a, b in overrides) if overrides else ""
    write(f"resuming {prefix_of(opts)} from {path} (step {ckpt['step']}) with the run's own options{said}")
    return opts, ckpt
