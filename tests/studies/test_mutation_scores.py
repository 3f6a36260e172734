from studies.mutation_scores import markdown, scores


def test_scores_count_each_status_per_package_and_timeouts_as_killed():
    lines = ["    losses.tv.x_total_variation__mutmut_1: killed",
             "    losses.tv.x_total_variation__mutmut_2: survived",
             "    losses.texture.x_color_shift__mutmut_3: timeout",
             "    models.generator.xǁGeneratorǁforward__mutmut_1: no tests",
             "    models.released.convert.x_convert__mutmut_9: not checked",
             "not a result line"]
    table = scores(lines)
    assert table["losses"] == {"killed": 1, "survived": 1, "timeout": 1}
    text = markdown(table)
    assert "| `losses` | 1 | 1 | 1 | 0 | 0 | 67 % |" in text
    assert "| `models` | 0 | 0 | 0 | 1 | 0 | – |" in text and "| `models.released` | 0 | 0 | 0 | 0 | 1 | – |" in text
