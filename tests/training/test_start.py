"""What train.py starts from: the start checkpoint it picks and says, and the origin its checkpoints record."""
import os

import pytest
import torch

from models.generator import Generator
from training.start import initial_generator, origin, start_checkpoint
from utils.checkpoint import checkpoint_path, save_checkpoint
from utils.errors import UserError


@pytest.mark.parametrize("start, steps", [({"kind": "released"}, None), ({"kind": "pretrain", "step": 900}, 0),
                                          ({"kind": "train", "step": 300}, 300),
                                          ({"kind": "train", "step": 300, "origin": {"steps": 1000}}, 1300),
                                          ({"kind": "train", "step": 300, "origin": {"steps": None}}, None)])
def test_origin_counts_the_adversarial_steps_already_in_the_start(start, steps):
    assert origin(start, "m.pth") == {"model": "m.pth", "kind": start["kind"], "steps": steps}


def pretrained_file(save_dir, step, G):
    return save_checkpoint(checkpoint_path(save_dir, "pre_gen", step), {"kind": "pretrain", "step": step,
                                                                        "arch": G.arch(), "G": G.state_dict()})


def test_the_highest_pretraining_step_is_picked_and_a_newer_file_is_pointed_out(tmp_path):
    G = Generator(4, 1)
    high, low = pretrained_file(tmp_path, 500, G), pretrained_file(tmp_path, 100, G)
    os.utime(high, (1, 1))  # the step-100 file is newer: a restarted pretraining run
    said = []
    assert start_checkpoint(None, str(tmp_path), said.append) == high
    assert said == [f"warning: {low.name} was written after {high.name}; pass --pretrained {low} to start from it "
                    f"instead", f"generator initialised from {high} (highest pretraining step in {tmp_path})"]
    G1, came_from = initial_generator(None, str(tmp_path), lambda *_: None)
    assert came_from == {"model": str(high), "kind": "pretrain", "steps": 0} and G1.training
    assert all(torch.equal(a, b) for a, b in zip(G1.state_dict().values(), G.state_dict().values()))


def test_nothing_to_start_from_is_one_line(tmp_path):
    with pytest.raises(UserError, match=f"no pretrained generator in {tmp_path} \\(pre_gen_batch_\\*.pth\\): run "
                                        f"pretrain.py first"):
        start_checkpoint(None, str(tmp_path))


def test_every_landmark_view_choice_builds_its_term():
    """Each --landmark_view choice is a term that train_step can call: edge views weigh by heatmaps, the points
    views own a reader and need none."""

    from losses.landmark import EdgeView
    from losses.landmark_points import PointsView
    from training.options import LANDMARK_VIEWS
    from training.start import landmark_view

    built = {}
    for view in LANDMARK_VIEWS:
        built[view] = landmark_view(view, 0.02, 0.03, None, "cpu")
    assert built["edges"] == EdgeView(0.02, False, 0.03) and built["surface"] == EdgeView(0.02, True, 0.03)
    assert isinstance(built["points"], PointsView) and not built["points"].surface_view
    assert isinstance(built["surface_points"], PointsView) and built["surface_points"].surface_view
    assert all(built[v].uses_heatmaps == (v in ("edges", "surface")) for v in LANDMARK_VIEWS)
