"""Crash safety and exact resume of the training scripts (subprocesses killed for real)."""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import pretrain
from utils.checkpoint import list_checkpoints, load_checkpoint

REPO = Path(__file__).resolve().parents[2]


def train_args(root, photo_dir, cartoon_dir, vgg_file, total, *extra):
    return ["--photo_dir", str(photo_dir), "--cartoon_dir", str(cartoon_dir), "--vgg_weights", str(vgg_file),
            "--total_iter", str(total), "--batch_size", "2", "--image_size", "32", "--channel", "8",
            "--num_blocks", "1", "--save_dir", str(root / "ck"), "--log_dir", str(root / "logs"), "--workers", "0",
            "--superpixel_workers", "0", "--device", "cpu", "--w5", "0", "--save_every", "1", "--sample_every",
            "100", "--model_version", "1", *extra]


def start(args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, str(REPO / "train.py"), *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def logged_step(root) -> int:
    """The last complete step in the run's loss log (0 before the first)."""
    log = root / "logs" / "gen1" / "losses.jsonl"
    if not log.is_file():
        return 0
    steps = [0]
    for line in log.read_text().splitlines():
        try:
            steps.append(json.loads(line)["step"])
        except (json.JSONDecodeError, KeyError):
            continue
    return steps[-1]


def wait_for_step(proc, root, step, timeout=120):
    t0 = time.time()
    while logged_step(root) < step:
        assert proc.poll() is None, proc.communicate()
        assert time.time() - t0 < timeout, "training did not advance"
        time.sleep(0.05)


@pytest.fixture
def pretrained(tmp_path, photo_dir):
    ck = tmp_path / "pre"
    pretrain.main(["--photo_dir", str(photo_dir), "--total_iter", "1", "--batch_size", "2", "--image_size", "32",
                   "--channel", "8", "--num_blocks", "1", "--save_dir", str(ck), "--log_dir", str(tmp_path / "pl"),
                   "--workers", "0", "--device", "cpu"])
    return ck / "pre_gen_batch_1.pth"


def test_sigkill_at_random_steps_then_resume_equals_unbroken_run(tmp_path, photo_dir, cartoon_dir, vgg_file,
                                                                  pretrained):
    total = 12
    unbroken, broken = tmp_path / "unbroken", tmp_path / "broken"
    proc = start(train_args(unbroken, photo_dir, cartoon_dir, vgg_file, total, "--pretrained", str(pretrained)))
    assert proc.wait() == 0, proc.communicate()
    rng = random.Random(1234)
    for i, target in enumerate(sorted(rng.sample(range(2, total - 1), 3))):
        again = ["--resume"] if i else []  # --resume with nothing to resume is an error
        proc = start(train_args(broken, photo_dir, cartoon_dir, vgg_file, total, "--pretrained", str(pretrained),
                                *again))
        wait_for_step(proc, broken, target)
        time.sleep(rng.random() * 0.3)  # somewhere inside a later step, maybe mid-checkpoint
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc = start(train_args(broken, photo_dir, cartoon_dir, vgg_file, total, "--pretrained", str(pretrained),
                            "--resume"))
    assert proc.wait() == 0, proc.communicate()
    a = load_checkpoint(unbroken / "ck" / f"gen1_batch_{total}.pth")
    b = load_checkpoint(broken / "ck" / f"gen1_batch_{total}.pth")
    for part in ("G", "D_texture", "D_surface"):
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), (part, key)
    for _, path in list_checkpoints(broken / "ck", "gen1"):
        load_checkpoint(path, kind="train")  # every checkpoint left on disk loads
    assert not list((broken / "ck").glob(".*tmp*"))
    assert logged_steps(broken / "logs" / "gen1") == list(range(1, total + 1))  # each step once, in order


def test_sigint_saves_a_loadable_checkpoint_at_that_step(tmp_path, photo_dir, cartoon_dir, vgg_file, pretrained):
    proc = start(train_args(tmp_path, photo_dir, cartoon_dir, vgg_file, 10_000, "--pretrained", str(pretrained),
                            "--save_every", "10000"))
    wait_for_step(proc, tmp_path, 3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGINT
    assert "Traceback" not in err
    line = next(line for line in (out + err).splitlines() if "stopped by SIGINT at step" in line)
    step = int(line.split("at step ")[1].split(";")[0])
    ckpt = load_checkpoint(tmp_path / "ck" / f"gen1_batch_{step}.pth", kind="train")
    assert ckpt["step"] == step >= 3
    last_bar = [b for b in err.replace("\r", "\n").splitlines() if "/10000" in b][-1]
    assert f" {step}/10000," in last_bar  # the progress line's last state (output piped) agrees with the message


def test_nan_injected_into_one_step_is_skipped_and_the_run_continues(tmp_path, photo_dir, monkeypatch, capsys):
    import training.steps as steps

    real = steps.pretrain_step
    calls = []

    def poisoned(photo, *args):
        calls.append(1)
        if len(calls) == 3:
            photo = photo.clone()
            photo[0, 0, 0, 0] = float("nan")
        return real(photo, *args)

    monkeypatch.setattr(steps, "pretrain_step", poisoned)  # pretrain.py imports it when it runs
    pretrain.main(["--photo_dir", str(photo_dir), "--total_iter", "5", "--batch_size", "2", "--image_size", "32",
                   "--channel", "8", "--num_blocks", "1", "--save_dir", str(tmp_path / "ck"), "--log_dir",
                   str(tmp_path / "logs"), "--workers", "0", "--device", "cpu"])
    err = capsys.readouterr()
    assert "step 3: non-finite 'l1' loss, update skipped" in err.out + err.err
    records = [json.loads(x) for x in (tmp_path / "logs" / "pre_gen" / "losses.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5]
    assert records[2]["nonfinite"] == "l1" and "nonfinite" not in records[3]
    assert torch.isfinite(torch.cat([v.flatten() for v in load_checkpoint(
        tmp_path / "ck" / "pre_gen_batch_5.pth")["G"].values()])).all()


def test_too_many_nonfinite_steps_stop_with_last_good_checkpoint(tmp_path, photo_dir, monkeypatch, capsys):
    import training.steps as steps

    monkeypatch.setattr(steps, "pretrain_step", lambda *a: {"l1": float("nan"), "nonfinite": "l1"})
    with pytest.raises(SystemExit) as e:
        pretrain.main(["--photo_dir", str(photo_dir), "--total_iter", "50", "--batch_size", "2", "--image_size",
                       "32", "--channel", "8", "--num_blocks", "1", "--save_dir", str(tmp_path / "ck"),
                       "--log_dir", str(tmp_path / "logs"), "--workers", "0", "--device", "cpu",
                       "--max_bad_steps", "3"])
    assert e.value.code == 2
    assert "3 non-finite steps in a row at step 3" in capsys.readouterr().err


def test_disk_full_keeps_training_when_the_previous_checkpoint_is_intact(tmp_path, photo_dir, monkeypatch, capsys):
    import training.run
    real = training.run.save_checkpoint

    def flaky(path, state):
        if state["step"] == 4:
            raise OSError(28, "No space left on device")
        return real(path, state)

    monkeypatch.setattr(training.run, "save_checkpoint", flaky)
    pretrain.main(["--photo_dir", str(photo_dir), "--total_iter", "6", "--batch_size", "2", "--image_size", "32",
                   "--channel", "8", "--num_blocks", "1", "--save_dir", str(tmp_path / "ck"), "--log_dir",
                   str(tmp_path / "logs"), "--workers", "0", "--device", "cpu", "--save_every", "2"])
    assert "pre_gen_batch_4.pth (No space left on device); " in capsys.readouterr().out
    assert [s for s, _ in list_checkpoints(tmp_path / "ck", "pre_gen")] == [2, 6]


def test_disk_full_without_an_intact_checkpoint_stops(tmp_path, photo_dir, monkeypatch, capsys):
    import training.run
    monkeypatch.setattr(training.run, "save_checkpoint",
                        lambda *a: (_ for _ in ()).throw(OSError(28, "No space")))
    with pytest.raises(SystemExit):
        pretrain.main(["--photo_dir", str(photo_dir), "--total_iter", "2", "--batch_size", "2", "--image_size", "32",
                       "--channel", "8", "--num_blocks", "1", "--save_dir", str(tmp_path / "ck"), "--log_dir",
                       str(tmp_path / "logs"), "--workers", "0", "--device", "cpu"])
    assert "no earlier checkpoint is intact" in capsys.readouterr().err


def test_keep_last_prunes_only_after_the_new_one_is_written(tmp_path, photo_dir):
    pretrain.main(["--photo_dir", str(photo_dir), "--total_iter", "5", "--batch_size", "2", "--image_size", "32",
                   "--channel", "8", "--num_blocks", "1", "--save_dir", str(tmp_path / "ck"), "--log_dir",
                   str(tmp_path / "logs"), "--workers", "0", "--device", "cpu", "--save_every", "1",
                   "--keep_last", "2"])
    assert [s for s, _ in list_checkpoints(tmp_path / "ck", "pre_gen")] == [4, 5]


def logged_steps(run_dir) -> list[int]:
    return [json.loads(line)["step"] for line in (run_dir / "losses.jsonl").read_text().splitlines()]


def test_resume_restores_the_runs_options_reports_overrides_and_refuses_inexact_ones(
        tmp_path, photo_dir, cartoon_dir, vgg_file, pretrained, capsys):
    import train
    train.main(train_args(tmp_path, photo_dir, cartoon_dir, vgg_file, 2, "--pretrained", str(pretrained),
                          "--w0", "5", "--train_d_times", "2"))
    capsys.readouterr()
    ck, logs = ["--save_dir", str(tmp_path / "ck")], ["--log_dir", str(tmp_path / "logs")]
    train.main(["--model_version", "1", "--resume", *ck, "--total_iter", "3"])  # every other option from the file
    out = capsys.readouterr().out
    assert "resuming gen1 from" in out and "gen1_batch_2.pth (step 2)" in out and "overrides: --total_iter 2 → 3" in out
    resumed = load_checkpoint(tmp_path / "ck" / "gen1_batch_3.pth")["options"]
    assert (resumed["w0"], resumed["train_d_times"], resumed["image_size"], resumed["photo_dir"]) == \
           (5.0, 2, 32, str(photo_dir))
    assert resumed["log_dir"] == str(tmp_path / "logs")
    for flag, value, why in [("--image_size", "48", "the weights were trained on crops of this size"),
                             ("--batch_size", "4", "the data stream and the optimiser's steps would differ"),
                             ("--channel", "16", "it changes the generator"),
                             ("--seed", "3", "it changes the data order")]:
        with pytest.raises(SystemExit) as e:
            train.main(["--model_version", "1", "--resume", *ck, *logs, "--total_iter", "4", flag, value])
        err = capsys.readouterr().err
        assert e.value.code == 2 and f"{flag} {value} on resume is refused: {why}" in err and err.count("\n") == 1
    train.main(["--model_version", "1", "--resume", *ck, "--total_iter", "4", "--w0", "7"])  # a weight: allowed
    assert "overrides: --total_iter 3 → 4, --w0 5.0 → 7.0" in capsys.readouterr().out


def test_resume_with_nothing_to_resume_names_what_it_looked_for(tmp_path, capsys):
    import pretrain
    import train
    for main, flags, name in ((train.main, ["--model_version", "5"], "gen5_batch_*.pth"),
                              (pretrain.main, [], "pre_gen_batch_*.pth")):
        with pytest.raises(SystemExit) as e:
            main([*flags, "--resume", "--save_dir", str(tmp_path / "ck")])
        err = capsys.readouterr().err
        assert e.value.code == 2
        assert f"--resume: nothing to resume, no {name} in {tmp_path / 'ck'}" in err
    with pytest.raises(SystemExit):
        train.main(["--resume", str(tmp_path / "nope.pth")])
    assert f"--resume {tmp_path / 'nope.pth'}: checkpoint not found" in capsys.readouterr().err


def test_resume_path_takes_that_runs_version_and_options(tmp_path, photo_dir, cartoon_dir, vgg_file, pretrained,
                                                         capsys):
    import train
    train.main(train_args(tmp_path, photo_dir, cartoon_dir, vgg_file, 2, "--pretrained", str(pretrained),
                          "--model_version", "3"))
    train.main(["--resume", str(tmp_path / "ck" / "gen3_batch_2.pth"), "--total_iter", "3"])
    assert load_checkpoint(tmp_path / "ck" / "gen3_batch_3.pth")["step"] == 3


def test_pretrain_resume_restores_its_options(tmp_path, photo_dir, capsys):
    import pretrain
    common = ["--save_dir", str(tmp_path / "ck")]
    pretrain.main([*common, "--photo_dir", str(photo_dir), "--total_iter", "2", "--batch_size", "2", "--image_size",
                   "32", "--channel", "8", "--num_blocks", "1", "--log_dir", str(tmp_path / "logs"), "--workers", "0",
                   "--device", "cpu"])
    pretrain.main([*common, "--resume", "--total_iter", "3"])
    assert "overrides: --total_iter 2 → 3" in capsys.readouterr().out
    ckpt = load_checkpoint(tmp_path / "ck" / "pre_gen_batch_3.pth", kind="pretrain")
    assert ckpt["options"]["channel"] == 8 and ckpt["options"]["image_size"] == 32


def start_group(args, cwd) -> subprocess.Popen:
    """train.py as the leader of a new process group (as a scheduler's job is)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, str(REPO / "train.py"), *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups and /proc")
def test_sigterm_to_the_whole_process_group_saves_then_resume_with_no_flags_is_exact(
        tmp_path, photo_dir, cartoon_dir, vgg_file, pretrained):
    """``kill -TERM -PGID`` (timeout, scancel, Kubernetes) reaches the loader workers and the superpixel processes
    too: they ignore it, the main process saves at its step and exits 143; ``--resume`` alone then finishes the
    run with its own options, bit for bit as an unbroken run."""
    total = 8
    flags = [*train_args(tmp_path, photo_dir, cartoon_dir, vgg_file, total, "--pretrained", str(pretrained),
                         "--workers", "1", "--superpixel_workers", "1", "--image_size", "64", "--save_every", "1000")]
    for name in ("--save_dir", "--log_dir"):  # the scripts' defaults, under each run's own folder
        i = flags.index(name)
        del flags[i:i + 2]
    unbroken, broken = tmp_path / "unbroken", tmp_path / "broken"
    for root in (unbroken, broken):
        root.mkdir()
    proc = start_group(flags, unbroken)
    assert proc.wait() == 0, proc.communicate()
    proc = start_group(flags, broken)
    logs = broken / "checkpoints" / "logs" / "gen1"
    t0 = time.time()
    while not (logs / "losses.jsonl").is_file() or len(logged_steps(logs)) < 3:
        assert proc.poll() is None and time.time() - t0 < 120, proc.communicate()
        time.sleep(0.05)
    assert len(descendants(proc.pid)) >= 3  # two loader workers and a superpixel process got the signal too
    os.killpg(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "Error" not in err, err
    stopped = int(next(x for x in (out + err).splitlines() if "stopped by SIGTERM at step" in x).split("step ")[1]
                  .split(";")[0])
    assert 3 <= stopped < total and "continue with: python train.py --model_version 1 --resume" in out + err
    proc = start_group(["--model_version", "1", "--resume"], broken)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    a = load_checkpoint(unbroken / "checkpoints" / "saved_models" / f"gen1_batch_{total}.pth")
    b = load_checkpoint(broken / "checkpoints" / "saved_models" / f"gen1_batch_{total}.pth")
    for part in ("G", "D_texture", "D_surface"):
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), (part, key)
    assert logged_steps(logs) == list(range(1, total + 1))


def descendants(pid: int) -> set[int]:
    """Every process below ``pid``, from /proc (ppid is the 4th field of /proc/PID/stat)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; PR_SET_PDEATHSIG is Linux-only")
def test_sigkill_leaves_no_helper_process_alive(tmp_path, photo_dir, cartoon_dir, vgg_file, pretrained):
    """Loader workers and the superpixel pool die with their run, even when it is SIGKILLed mid-step."""
    proc = start(train_args(tmp_path, photo_dir, cartoon_dir, vgg_file, 10_000, "--pretrained", str(pretrained),
                            "--save_every", "10000", "--workers", "1", "--superpixel_workers", "2"))
    wait_for_step(proc, tmp_path, 2)
    helpers = descendants(proc.pid)
    assert len(helpers) >= 3  # one loader worker per data set and the superpixel processes
    proc.kill()
    proc.wait()  # not communicate(): a surviving helper would hold the pipes open and hang it
    deadline = time.time() + 20
    while any(alive(p) for p in helpers) and time.time() < deadline:
        time.sleep(0.1)
    assert not [p for p in helpers if alive(p)]


def helpers_by_kind(pid: int) -> dict[str, list[int]]:
    """The run's helper processes: 'superpixel' (spawned: their command line runs multiprocessing.spawn) and
    'loader' (DataLoader workers, forked: the run's own command line)."""
    own = Path(f"/proc/{pid}/cmdline").read_bytes()
    kinds: dict[str, list[int]] = {"superpixel": [], "loader": []}
    for child in sorted(descendants(pid)):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing.spawn" in cmdline:
            kinds["superpixel"].append(child)
        elif cmdline == own:
            kinds["loader"].append(child)
    return kinds


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("kind, says", [("superpixel", "a superpixel helper process died: {pid} (killed by SIGKILL)"),
                                        ("loader", "a data-loading helper process died: DataLoader worker (pid(s) "
                                                   "{pid}) exited unexpectedly")])
def test_a_killed_helper_ends_the_run_with_a_checkpoint_and_one_line(tmp_path, photo_dir, cartoon_dir, vgg_file,
                                                                     pretrained, kind, says):
    """A helper killed by PID (as the kernel's out-of-memory killer does) used to hang the run in the pool's
    shutdown; now the last complete step is saved, one line says what died, and the exit status is 2."""
    proc = start(train_args(tmp_path, photo_dir, cartoon_dir, vgg_file, 10_000, "--pretrained", str(pretrained),
                            "--save_every", "10000", "--workers", "1", "--superpixel_workers", "2"))
    wait_for_step(proc, tmp_path, 2)
    victim = helpers_by_kind(proc.pid)[kind][0]
    os.kill(victim, signal.SIGKILL)
    t0 = time.time()
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"the run hung after its {kind} helper died") from None
    print(f"{kind} helper killed: the run ended {time.time() - t0:.1f} s later")
    assert proc.returncode == 2, err
    assert "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"error: {says.format(pid=victim)}; saved "), last
    step = int(last.split("(step ")[1].split(")")[0])
    assert load_checkpoint(tmp_path / "ck" / f"gen1_batch_{step}.pth", kind="train")["step"] == step >= 2
    assert last.endswith("continue with: python train.py --model_version 1 --resume")
    assert logged_step(tmp_path) in (step, step + 1)  # the broken step changed nothing; it may have been logged
