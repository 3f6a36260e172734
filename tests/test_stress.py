"""tests/stress.py: a round's JUnit report read back, and failures counted per test over rounds."""
import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("stress", Path(__file__).parent / "stress.py")
stress = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stress)

REPORT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="tests.a" name="test_ok" time="0.1"/>
<testcase classname="tests.a" name="test_bad" time="0.1">
<failure message="AssertionError: 1 != 2&#10;more">x</failure></testcase>
<testcase classname="tests.b" name="test_broken" time="0.1"><error message="ConnectionResetError">y</error></testcase>
<testcase classname="tests.b" name="test_skip" time="0.1"><skipped message="no chromium"/></testcase>
</testsuite></testsuites>"""


def test_outcomes_reads_failures_errors_and_passes(tmp_path):
    (tmp_path / "r.xml").write_text(REPORT)
    assert stress.outcomes(tmp_path / "r.xml") == {
        "tests.a::test_ok": "", "tests.a::test_bad": "AssertionError: 1 != 2",
        "tests.b::test_broken": "ConnectionResetError", "tests.b::test_skip": ""}


def test_tally_counts_failures_per_test_over_rounds():
    rounds = [{"t1": "", "t2": "boom"}, {"t1": "", "t2": ""}, {"t1": "first", "t2": "again"}]
    assert stress.tally(rounds) == {"t1": {"failed": 1, "rounds": 3, "first": "first"},
                                    "t2": {"failed": 2, "rounds": 3, "first": "boom"}}


def test_a_round_of_a_passing_and_a_failing_file(tmp_path, capsys):
    (tmp_path / "test_mixed.py").write_text("def test_yes():\n    assert True\n\n\ndef test_no():\n    assert 1 == 2\n")
    code = stress.main([str(tmp_path / "test_mixed.py"), "--rounds", "2", "--json", str(tmp_path / "s.json")])
    out = capsys.readouterr().out
    assert code == 1
    assert "2/2" in out and "test_no" in out and "test_yes" not in out.split("rounds:")[1]
