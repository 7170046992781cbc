"""The README's two set-up commands are the ones CI runs, so they cannot drift apart."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    """The shell commands in the README's "Set up" section, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Set up\n(.*?)(?=^## )", text, flags=re.S | re.M)
    assert section, "README.md has no '## Set up' section"
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", section.group(1), flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def ci_commands() -> list[str]:
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines
            if line.strip() and not line.strip().startswith(("#", "set ", "cd ", "export "))]


def test_readme_has_exactly_two_setup_commands():
    commands = readme_commands()
    assert len(commands) == 2, commands


def test_ci_installs_as_the_readme_says_and_runs_its_test_command():
    install_and_demo, test_command = readme_commands()
    install = install_and_demo.split("&&")[0].strip()
    assert ci_commands() == [install, test_command]


def test_readme_demo_command_runs_the_main_job():
    install_and_demo, _ = readme_commands()
    assert "python -m xnaming_widget demo" in install_and_demo
