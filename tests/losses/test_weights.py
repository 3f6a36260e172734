"""LossWeights: each flag weighs its own term, and only its own."""
import dataclasses

import pytest

from losses.weights import DEFAULTS, FLAGS, LossWeights


def test_every_term_gets_its_own_weight():
    distinct = LossWeights(*[float(10 ** k) for k in range(len(FLAGS))])  # 1, 10, 100, ... : no two alike
    raw = {field: 1.0 + k for k, field in enumerate(FLAGS.values())}
    weighted = distinct.weigh(raw)
    for k, field in enumerate(FLAGS.values()):
        assert weighted[field] == pytest.approx(getattr(distinct, field) * (1.0 + k)), field


def test_flags_map_in_white_box_order_then_landmark_anchor_and_its_guards():
    assert list(FLAGS) == [f"w{k}" for k in range(10)]
    assert list(FLAGS.values()) == [f.name for f in dataclasses.fields(LossWeights)]
    opts = type("Opts", (), {flag: float(k + 1) for k, flag in enumerate(FLAGS)})()
    weights = LossWeights.from_flags(opts)
    assert [getattr(weights, field) for field in FLAGS.values()] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]


def test_only_present_terms_are_weighed():
    assert LossWeights().weigh({"texture": 2.0}) == {"texture": 2.0 * DEFAULTS["texture"]}
    assert {DEFAULTS[k] for k in ("anchor", "shading", "lines", "flatness")} == {0.0}  # off unless asked for


@pytest.mark.parametrize("field", ["anchor", "shading", "lines", "flatness"])
def test_the_anchor_or_any_guard_needs_the_untouched_model_and_nothing_else_does(field):
    assert not LossWeights().holds_to_start
    assert LossWeights(**{field: 1.0}).holds_to_start
    assert not LossWeights(tv=1, surface=1, texture=1, content=1, structure=1, landmark=1).holds_to_start
