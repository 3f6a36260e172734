import json

import pytest
import torch

import pretrain
from models.generator import Generator
from training.steps import pretrain_step
from utils.checkpoint import load_checkpoint
from utils.runtime import Precision


def test_five_steps_lower_l1_on_a_fixed_batch():
    torch.manual_seed(0)
    G = Generator()
    opt = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.99))
    photo = torch.rand(2, 3, 32, 32) * 2 - 1
    losses = [pretrain_step(photo, G, opt, Precision(torch.device("cpu")))["l1"] for _ in range(5)]
    assert losses[-1] < losses[0]


def test_nonfinite_loss_skips_the_update():
    G = Generator(8, 1)
    before = [p.clone() for p in G.parameters()]
    photo = torch.zeros(1, 3, 16, 16)
    photo[0, 0, 0, 0] = float("nan")
    out = pretrain_step(photo, G, torch.optim.Adam(G.parameters()), Precision(torch.device("cpu")))
    assert out["nonfinite"] == "l1"
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters()))


def _args(tmp_path, photo_dir, total, *extra):
    return ["--photo_dir", str(photo_dir), "--total_iter", str(total), "--batch_size", "2", "--image_size", "32",
            "--save_dir", str(tmp_path / "ck"), "--log_dir", str(tmp_path / "logs"), "--workers", "0",
            "--device", "cpu", "--save_every", "2", "--sample_every", "2", "--channel", "8", "--num_blocks", "1",
            *extra]


def test_writes_checkpoints_logs_samples_and_options(tmp_path, photo_dir):
    pretrain.main(_args(tmp_path, photo_dir, 3))
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == [
        "pre_gen_batch_2.pth", "pre_gen_batch_3.pth"]
    run = tmp_path / "logs" / "pre_gen"
    assert json.loads((run / "options.json").read_text())["total_iter"] == 3
    assert [json.loads(line)["step"] for line in (run / "losses.jsonl").read_text().splitlines()] == [1, 2, 3]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["0000002.jpg", "0000003.jpg"]
    ckpt = load_checkpoint(tmp_path / "ck" / "pre_gen_batch_3.pth", kind="pretrain")
    assert ckpt["step"] == 3 and ckpt["options"]["image_size"] == 32


def test_resume_from_step_n_matches_an_unbroken_run(tmp_path, photo_dir):
    unbroken, broken = tmp_path / "a", tmp_path / "b"
    pretrain.main(_args(unbroken, photo_dir, 4))
    pretrain.main(_args(broken, photo_dir, 2))
    pretrain.main(_args(broken, photo_dir, 4, "--checkpoint", "2"))
    a = load_checkpoint(unbroken / "ck" / "pre_gen_batch_4.pth")
    b = load_checkpoint(broken / "ck" / "pre_gen_batch_4.pth")
    for key in a["G"]:
        assert torch.equal(a["G"][key], b["G"][key]), key


def test_dry_run_prints_options_and_writes_nothing(tmp_path, photo_dir, capsys):
    pretrain.main(_args(tmp_path, photo_dir, 3, "--dry-run"))
    assert json.loads(capsys.readouterr().out)["total_iter"] == 3
    assert not (tmp_path / "ck").exists()


@pytest.mark.parametrize("extra,message", [
    (["--image_size", "30"], "--image_size 30: must be a multiple of 4"),
    (["--batch_size", "0"], "--batch_size 0: must be at least 1"),
    (["--checkpoint", "7"], "pre_gen_batch_7.pth: checkpoint not found"),
])
def test_bad_flags_exit_with_one_line(tmp_path, photo_dir, capsys, extra, message):
    with pytest.raises(SystemExit) as e:
        pretrain.main(_args(tmp_path, photo_dir, 3, *extra))
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_photo_folder(tmp_path, capsys):
    with pytest.raises(SystemExit):
        pretrain.main(_args(tmp_path, tmp_path / "none", 3))
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "none: folder not found" in err and "\n" not in err


def test_a_run_resumed_at_its_end_names_its_checkpoint(tmp_path, photo_dir, capsys):
    """--resume auto of a finished run (make anime_model run again) trains nothing and says where the run is."""
    import pretrain

    args = ["--photo_dir", str(photo_dir), "--total_iter", "2", "--batch_size", "2", "--image_size", "16",
            "--channel", "4", "--num_blocks", "1", "--save_dir", str(tmp_path / "ck"), "--log_dir", str(tmp_path / "l"),
            "--workers", "0", "--device", "cpu", "--resume", "auto"]
    pretrain.main(args)
    pretrain.main(args)
    assert f"pretraining done at step 2: {tmp_path / 'ck' / 'pre_gen_batch_2.pth'}" in capsys.readouterr().out
