"""Every check of the training options, with its exact one-line message (argparse exits with status 2)."""
import pytest

from losses.weights import DEFAULTS, FLAGS, LossWeights
from training.options import check_training_options, parse_training_options, pretrain_parser, train_parser


@pytest.mark.parametrize("flags, message", [
    (["--image_size", "30"], "--image_size 30: must be a multiple of 4 and at least 16"),
    (["--image_size", "12"], "--image_size 12: must be a multiple of 4 and at least 16"),
    *[([f"--{n}", "0"], f"--{n} 0: must be at least 1")
      for n in ("total_iter", "batch_size", "save_every", "sample_every", "channel", "max_bad_steps")],
    *[([f"--{n}", "-1"], f"--{n} -1: must not be negative")
      for n in ("num_blocks", "keep_last", "workers", "superpixel_workers", "d_warmup")],
    (["--adv_train_lr", "0"], "learning rate 0.0: must be positive"),
    (["--checkpoint", "3", "--resume"], "--checkpoint and --resume: give one of them"),
    *[([f"--{flag}", "-1"], f"--{flag} -1.0: loss weights must not be negative") for flag in FLAGS],
    (["--landmark_sigma", "0"], "--landmark_sigma 0.0: must be positive"),
    (["--train_d_times", "0"], "--train_d_times 0: must be at least 1"),
    (["--anchor_free", "1.5"], "--anchor_free 1.5: must be between 0 and 1"),
    (["--landmark_view", "raw"], "argument --landmark_view: invalid choice: 'raw'"),
    (["--landmark_threshold", "-0.1"], "--landmark_threshold -0.1: must not be negative"),
    (["--precision", "fp8"], "argument --precision: invalid choice: 'fp8'"),
])
def test_each_check_has_its_message(flags, message, capsys):
    p = train_parser()
    with pytest.raises(SystemExit) as e:
        check_training_options(p, p.parse_args(flags))
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("error:") == 1


def test_pretrain_learning_rate_flag_and_defaults():
    opts = check_training_options(pretrain_parser(), pretrain_parser().parse_args(["--pretrain_lr", "1e-3"]))
    assert opts.lr == 1e-3 and opts.total_iter == 50000 and not hasattr(opts, "w0")


def test_weight_flags_map_to_the_named_terms():
    opts = train_parser().parse_args(["--w0", "1e5", "--w1", "2e-1", "--w2", "5", "--w3", "2e1", "--w4", "6e-1"])
    assert LossWeights.from_flags(opts) == LossWeights(tv=1e5, surface=0.2, texture=5, content=20, structure=0.6,
                                                       landmark=DEFAULTS["landmark"])
    assert LossWeights().weigh({"tv": 2.0, "landmark": 3.0}) == {"tv": 2e4, "landmark": 3.0}


def test_dry_run_returns_nothing_and_prints_json(capsys):
    assert parse_training_options(train_parser, ["--dry-run", "--w5", "0"]) is None
    assert '"w5": 0.0' in capsys.readouterr().out
