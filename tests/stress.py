"""The flake routine: the tests that race (processes, signals, the page) run many times, failures counted per test.

    make stress                 # 30 rounds of STRESS_FILES
    make stress N=5             # fewer rounds
    python -m tests.stress --rounds 30 tests/scripts/test_reliability.py ...

Each round is one pytest run of the files in a new random order (pytest-randomly's seed, printed), so an
interaction between tests shows too. Prints each round's outcome as it ends, then one line per test that failed
at least once (failures / rounds) with the first failure's message, and writes the tally as JSON (--json). Exit
status 1 when any test failed in any round. Run it after any change to processes, signals or the page.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

FILES = ("tests/scripts/test_reliability.py", "tests/training/test_resume.py", "tests/training/test_distributed.py",
         "tests/web/test_page.py")


def outcomes(junit_xml: Path) -> dict[str, str]:
    """{test id: '' when it passed or was skipped, else the first line of its failure or error}."""
    results = {}
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        bad = case.find("failure")
        bad = bad if bad is not None else case.find("error")
        results[test_id] = "" if bad is None else (bad.get("message") or "failed").splitlines()[0][:200]
    return results


def one_round(files: list[str], seed: int, folder: Path) -> tuple[dict[str, str], float, int]:
    """(outcomes, seconds, pytest's exit status) of one pytest run of ``files`` with randomly's ``seed``."""
    xml = folder / f"round-{seed}.xml"
    t0 = time.time()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "randomly", "-p", "no:cacheprovider",
                           f"--randomly-seed={seed}", f"--junitxml={xml}", *files],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    found = outcomes(xml) if xml.is_file() else {"(pytest itself)": f"exit status {done.returncode}, no report"}
    return found, time.time() - t0, done.returncode


def tally(rounds: list[dict[str, str]]) -> dict[str, dict]:
    """{test id: {'failed': n, 'rounds': n, 'first': message}} for every test seen."""
    failed, seen, first = Counter(), Counter(), {}
    for found in rounds:
        for test_id, message in found.items():
            seen[test_id] += 1
            if message:
                failed[test_id] += 1
                first.setdefault(test_id, message)
    return {t: {"failed": failed[t], "rounds": seen[t], "first": first.get(t, "")} for t in sorted(seen)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("files", nargs="*", default=list(FILES), help="test files (default: the racing ones)")
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--seed", type=int, default=1, help="randomly's seed of the first round (+1 each round)")
    p.add_argument("--json", type=Path, default=Path("results/stress.json"), help="where the tally goes")
    opts = p.parse_args(argv)
    if opts.rounds < 1:
        p.error(f"--rounds {opts.rounds}: must be at least 1")
    rounds = []
    with tempfile.TemporaryDirectory() as folder:
        for k in range(opts.rounds):
            found, seconds, status = one_round(opts.files, opts.seed + k, Path(folder))
            rounds.append(found)
            bad = sorted(t for t, m in found.items() if m)
            print(f"round {k + 1}/{opts.rounds} (seed {opts.seed + k}): {len(found)} tests, {len(bad)} failed, "
                  f"{seconds:.0f} s" + (f": {', '.join(bad)}" if bad else ""), flush=True)
    result = tally(rounds)
    flaky = {t: r for t, r in result.items() if r["failed"]}
    print(f"{len(result)} tests, {opts.rounds} rounds: " + (f"{len(flaky)} failed at least once" if flaky
                                                             else "no failure"))
    for test_id, r in flaky.items():
        print(f"  {r['failed']}/{r['rounds']}  {test_id}: {r['first']}")
    opts.json.parent.mkdir(parents=True, exist_ok=True)
    opts.json.write_text(json.dumps({"files": opts.files, "rounds": opts.rounds, "tests": result}, indent=1) + "\n")
    return 1 if flaky else 0


if __name__ == "__main__":
    sys.exit(main())
