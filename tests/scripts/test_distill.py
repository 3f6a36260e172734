"""distill.py end to end on tiny data, and its step on tensors: the student moves toward the
frozen teacher, the checkpoint says which teacher, the held-out photos are never seen, and resume is exact."""
import pytest
import torch

import distill
from models.face_generator import FaceGenerator
from training.steps import distill_step
from utils.checkpoint import load_checkpoint
from utils.runtime import Precision


def test_distill_step_moves_the_student_toward_the_teacher_and_leaves_the_teacher():
    torch.manual_seed(0)
    teacher, student = FaceGenerator(8, 1).eval(), FaceGenerator(4, 1)
    before = [p.detach().clone() for p in teacher.parameters()]
    opt = torch.optim.Adam(student.parameters(), 1e-2)
    photo = torch.rand(2, 3, 32, 32) * 2 - 1
    losses = [distill_step(photo, student, teacher, opt, Precision(torch.device("cpu")))["total"] for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]
    assert all(torch.equal(a, b) for a, b in zip(before, teacher.parameters()))


def test_the_learning_rate_falls_on_a_cosine_to_zero():
    assert distill.learning_rate(1, 100, 2e-4) == pytest.approx(2e-4)
    assert distill.learning_rate(51, 100, 2e-4) == pytest.approx(1e-4)
    assert distill.learning_rate(101, 100, 2e-4) == pytest.approx(0, abs=1e-12)


def run(tmp_path, photo_dir, teacher, *extra):
    return distill.main(["--photo_dir", str(photo_dir), "--teacher", str(teacher), "--holdout", "2", "--channel", "2",
                         "--num_blocks", "2", "--batch_size", "2", "--image_size", "32", "--save_dir",
                         str(tmp_path / "ck"), "--log_dir", str(tmp_path / "logs"), "--workers", "0", "--device",
                         "cpu", "--save_every", "2", "--sample_every", "2", *extra])


def test_the_command_distils_records_its_teacher_and_resumes_exactly(tmp_path, photo_dir, face_checkpoint, capsys):
    import shutil

    run(tmp_path / "a", photo_dir, face_checkpoint, "--total_iter", "4")
    (tmp_path / "b" / "ck").mkdir(parents=True)  # the run as if stopped at step 2 (the cosine spans --total_iter)
    shutil.copy(tmp_path / "a" / "ck" / "live1_batch_2.pth", tmp_path / "b" / "ck")
    run(tmp_path / "b", photo_dir, face_checkpoint, "--total_iter", "4", "--resume")
    a, b = (load_checkpoint(tmp_path / r / "ck" / "live1_batch_4.pth", kind="distill") for r in ("a", "b"))
    assert a["teacher"] == str(face_checkpoint) and a["arch"] == {"generator": "facial", "channel": 2,
                                                                   "num_blocks": 2}
    assert all(torch.equal(a["G"][k], b["G"][k]) for k in a["G"])  # stopped and resumed = unbroken
    assert "4 photos to learn from, 2 held out" in capsys.readouterr().out  # photo_dir holds 6


def test_another_teacher_on_resume_is_refused(tmp_path, photo_dir, face_checkpoint, trained_checkpoint, capsys):
    run(tmp_path, photo_dir, face_checkpoint, "--total_iter", "2")
    with pytest.raises(SystemExit) as e:
        run(tmp_path, photo_dir, trained_checkpoint, "--total_iter", "4", "--resume")
    assert e.value.code == 2 and "the student would learn another model's cartoons" in capsys.readouterr().err


def test_the_held_out_photos_are_never_trained_on(photo_dir):
    from datasets.folder import ImageFolder
    from utils.errors import UserError

    every, trained = ImageFolder(photo_dir, 32), ImageFolder(photo_dir, 32, holdout=2)
    assert trained.files == every.files[:-2]
    with pytest.raises(UserError, match="6 images, need more than --holdout 6"):
        ImageFolder(photo_dir, 32, holdout=6)


def test_the_student_starts_as_the_teachers_largest_channels(tmp_path, photo_dir, face_checkpoint, capsys):
    """--start teacher (the default): the step-1 student is the pruned teacher after one update, not a fresh
    network; a teacher with other residual applications than asked is one line."""
    from models.prune import thinner
    from models.zoo import generator_from

    run(tmp_path, photo_dir, face_checkpoint, "--total_iter", "1", "--lr", "1e-9", "--save_every", "1")
    student = load_checkpoint(tmp_path / "ck" / "live1_batch_1.pth")["G"]
    pruned = thinner(generator_from(load_checkpoint(face_checkpoint), face_checkpoint), 2).state_dict()
    assert all(torch.allclose(student[k].float(), pruned[k].float(), atol=1e-6) for k in pruned)
    with pytest.raises(SystemExit) as e:
        run(tmp_path / "other", photo_dir, face_checkpoint, "--total_iter", "1", "--num_blocks", "1")
    assert e.value.code == 2 and "--start teacher: --num_blocks 1 differs from the teacher's 2" in \
        capsys.readouterr().err


def test_a_previous_student_can_be_the_start_when_the_teacher_changes(tmp_path, photo_dir, face_checkpoint,
                                                                      capsys):
    """--start CHECKPOINT: the step-1 student is that student after one (tiny) update; one of another size is one
    line."""
    run(tmp_path / "first", photo_dir, face_checkpoint, "--total_iter", "1", "--save_every", "1")
    previous = tmp_path / "first" / "ck" / "live1_batch_1.pth"
    run(tmp_path / "again", photo_dir, face_checkpoint, "--total_iter", "1", "--lr", "1e-9", "--save_every", "1",
        "--start", str(previous))
    before, after = (load_checkpoint(p)["G"] for p in (previous, tmp_path / "again" / "ck" / "live1_batch_1.pth"))
    assert all(torch.allclose(after[k].float(), before[k].float(), atol=1e-6) for k in before)
    with pytest.raises(SystemExit) as e:
        run(tmp_path / "other", photo_dir, face_checkpoint, "--total_iter", "1", "--channel", "4", "--start",
            str(previous))
    assert e.value.code == 2 and f"--start {previous}: a " in capsys.readouterr().err


def test_the_old_module_says_where_the_script_went():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "training.distill", "--help"], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip() == ("error: python -m training.distill has moved: run python distill.py with the "
                                   "same flags")
