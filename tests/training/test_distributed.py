"""Two CPU processes with gloo, launched by torchrun, on tiny data."""
import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from utils.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[2]


def torchrun(*args, nproc=2):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *map(str, args)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_ranks_hold_identical_weights_after_every_step_and_shards_do_not_overlap(tmp_path, photo_dir, cartoon_dir):
    out = tmp_path / "sync.json"
    torchrun(REPO / "tests" / "training" / "ddp_sync_check.py", photo_dir, cartoon_dir, out)
    rank0, rank1 = json.loads(out.read_text())
    assert len(rank0["steps"]) == len(rank1["steps"]) == 3
    for a, b in zip(rank0["steps"], rank1["steps"]):
        for name in ("G", "D_texture", "D_surface"):
            assert a[name] == b[name], name  # parameters and buffers (spectral-norm u, v) equal on both ranks
    assert not set(rank0["indices"]) & set(rank1["indices"])  # one epoch: disjoint shards
    assert sorted(rank0["indices"] + rank1["indices"]) == list(range(6))


def test_train_py_under_torchrun_writes_a_checkpoint_that_resumes_one_process(tmp_path, photo_dir, cartoon_dir,
                                                                                vgg_file):
    import pretrain
    import train
    common = ["--photo_dir", str(photo_dir), "--batch_size", "2", "--image_size", "32", "--channel", "8",
              "--num_blocks", "1", "--save_dir", str(tmp_path / "ck"), "--log_dir", str(tmp_path / "logs"),
              "--workers", "0", "--device", "cpu"]
    pretrain.main([*common, "--total_iter", "1"])
    tr = [*common, "--cartoon_dir", str(cartoon_dir), "--vgg_weights", str(vgg_file), "--superpixel_workers", "0",
          "--model_version", "4"]
    torchrun(REPO / "train.py", *tr, "--total_iter", "2")
    ckpt = load_checkpoint(tmp_path / "ck" / "gen4_batch_2.pth", kind="train")
    assert len(ckpt["rng_ranks"]) == 2 and not any(k.startswith("module.") for k in ckpt["G"])
    assert len((tmp_path / "logs" / "gen4" / "losses.jsonl").read_text().splitlines()) == 2  # rank 0 alone logs
    train.main([*tr, "--total_iter", "3", "--resume"])
    assert load_checkpoint(tmp_path / "ck" / "gen4_batch_3.pth")["step"] == 3


def test_group_sigterm_under_torchrun_stops_every_rank_rank0_saves_and_the_resume_is_exact(
        tmp_path, photo_dir, cartoon_dir, vgg_file):
    """A scheduler signals torchrun's whole process group: its agent forwards SIGTERM to each rank, which gets it
    twice. Every rank stops at one step, rank 0 saves, and resuming under torchrun ends bit-exact."""
    import signal
    import time

    import pretrain
    common = ["--photo_dir", str(photo_dir), "--batch_size", "2", "--image_size", "32", "--channel", "8",
              "--num_blocks", "1", "--workers", "0", "--device", "cpu"]
    pretrain.main([*common, "--total_iter", "1", "--save_dir", str(tmp_path / "pre"), "--log_dir",
                   str(tmp_path / "pl")])
    total = 40
    tr = [*common, "--cartoon_dir", str(cartoon_dir), "--vgg_weights", str(vgg_file), "--superpixel_workers", "0",
          "--model_version", "4", "--w5", "0", "--pretrained", str(tmp_path / "pre" / "pre_gen_batch_1.pth"),
          "--total_iter", str(total), "--save_every", "1000"]
    runs = {name: ["--save_dir", str(tmp_path / name / "ck"), "--log_dir", str(tmp_path / name / "logs")]
            for name in ("unbroken", "broken")}
    torchrun(REPO / "train.py", *tr, *runs["unbroken"])
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(REPO / "train.py"),
           *tr, *runs["broken"]]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    log = tmp_path / "broken" / "logs" / "gen4" / "losses.jsonl"
    t0 = time.time()
    while not log.is_file() or len(log.read_text().splitlines()) < 3:
        assert proc.poll() is None and time.time() - t0 < 200, proc.communicate()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    saved = sorted((tmp_path / "broken" / "ck").glob("gen4_batch_*.pth"))
    assert len(saved) == 1, out[-2000:] + err[-3000:]
    step = load_checkpoint(saved[0], kind="train")["step"]
    assert 3 <= step < total and f"stopped by SIGTERM at step {step}" in out + err
    assert (out + err).count("stopped by SIGTERM") == 1  # rank 0 alone says it
    torchrun(REPO / "train.py", "--model_version", "4", "--resume", *runs["broken"][:2])
    a = load_checkpoint(tmp_path / "unbroken" / "ck" / f"gen4_batch_{total}.pth")
    b = load_checkpoint(tmp_path / "broken" / "ck" / f"gen4_batch_{total}.pth")
    for part in ("G", "D_texture", "D_surface"):
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), (part, key)
