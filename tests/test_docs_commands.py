"""Every command the README, the docs and the Makefile show still runs: each script and `python -m` tool answers
--help (before torch is imported, so quickly) with its usage."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", REPO / "Makefile", *sorted((REPO / "docs").glob("*.md"))]
COMMAND = re.compile(r"python3? (-m [a-z_][a-z_.]*|[a-z_/]+\.py)\b")


def documented_commands() -> list[str]:
    found = {m.group(1) for page in PAGES for m in COMMAND.finditer(page.read_text())}
    return sorted(found - {"-m venv"})


def test_the_docs_show_the_three_commands_and_the_tools():
    commands = documented_commands()
    assert {"pretrain.py", "train.py", "test.py", "app.py", "-m web", "-m bench"} <= set(commands), commands
    assert len(commands) >= 15


@pytest.mark.parametrize("command", documented_commands())
def test_each_documented_command_answers_help(command):
    done = subprocess.run([sys.executable, *command.split(), "--help"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-800:]
    assert done.stdout.startswith("usage:"), done.stdout[:300]
