"""README "Running it": its install steps work in a fresh virtualenv, and agree with the systemd unit in deploy/.

The steps run as written, with /opt/xmpp-gateway moved under a temporary directory and `.` a copy of this checkout
(a build writes build/ and *.egg-info into its source tree). To stay fast and off the package index, the fresh
virtualenv sees the dependencies already installed in the one running the tests (a .pth file naming them, added
right after `python3 -m venv`): so `pip install .` builds and installs the gateway itself and resolves every
dependency without downloading it. Installing them all afresh took 60-100 s on the development machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from gateway import __version__

ROOT = Path(__file__).resolve().parents[2]
VENV = "/opt/xmpp-gateway"
UNIT = ROOT / "deploy" / "xmpp-gateway.service"
# What the dependency view leaves out: the gateway itself (its editable install) and the installers.
NOT_DEPENDENCIES = re.compile(r"^(__editable__|xmpp_gateway|gateway$|pip|setuptools|_distutils_hack|.*\.pth$)")


def running_it_blocks() -> list[list[str]]:
    """The shell blocks of README "Running it", as lists of commands (comments dropped)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Running it\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    return [[line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()] for block in blocks]


def _checkout_copy(target: Path) -> Path:
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, target / name)
    for name in ("gateway", "migrations"):
        shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _dependencies_view(target: Path) -> Path:
    """The running environment's site-packages without the gateway and the installers, as symlinks."""
    target.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    for entry in site.iterdir():
        if not NOT_DEPENDENCIES.match(entry.name):
            (target / entry.name).symlink_to(entry)
    return target


def test_the_readme_install_steps_work_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    install = [line for line in running_it_blocks()[0] if not line.startswith("apt-get ")]  # present here
    venv = tmp_path / "opt-xmpp-gateway"
    checkout = _checkout_copy(tmp_path / "checkout")
    dependencies = _dependencies_view(tmp_path / "dependencies")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XMPP_GATEWAY_", "VIRTUAL_ENV", "PYTHON"))}
    # pip refuses to install anywhere but a virtualenv: a step that would install into the machine's Python fails.
    env |= {"PIP_REQUIRE_VIRTUALENV": "1", "PIP_NO_COMPILE": "1"}
    # The system python3 the README means: neither the tests' virtualenv nor a pyenv shim comes first on PATH.
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(sys.prefix) and ".pyenv" not in p)
    output = ""
    for command in install:
        # Checked before it runs: every step creates or uses the virtualenv, nothing else on this machine.
        assert command.startswith((f"python3 -m venv {VENV}", f"{VENV}/bin/")), f"{command!r} works outside {VENV}"
        result = subprocess.run(command.replace(VENV, str(venv)), shell=True, cwd=checkout, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{command}:\n{result.stdout}{result.stderr}"
        output = result.stdout
        if " -m venv " in f" {command} ":
            site = next(venv.glob("lib/python3*/site-packages"))
            (site / "zz-test-dependencies.pth").write_text(f"{dependencies}\n")
    assert output.strip() == f"xmpp-gateway {__version__}"

    # The gateway ran from the virtualenv, not from the checkout.
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import gateway; print(gateway.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert where.stdout.strip().startswith(str(venv)), where.stdout + where.stderr
    migrations = Path(where.stdout.strip()).parent / "migrations" / "versions"
    assert any(migrations.glob("0001_*.py")), "the Alembic revisions are installed with the package"


def _unit() -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def test_the_readme_and_the_systemd_unit_agree() -> None:
    unit = _unit()
    binary = f"{VENV}/bin/xmpp-gateway"
    assert unit["ExecStart"] == [f"{binary} run"]
    assert unit["ExecStartPre"] == [f"{binary} check-config"]
    setup = running_it_blocks()[1]
    user = next(line for line in setup if line.startswith("useradd "))
    assert user.split()[-1] == unit["User"][0] == unit["Group"][0]
    assert "--user-group" in user and f"--home-dir /var/lib/{unit['StateDirectory'][0]}" in user
    assert unit["Environment"] == ["XMPP_GATEWAY_CONFIG=/etc/xmpp-gateway/config.toml"]
    assert f"/etc/{unit['ConfigurationDirectory'][0]}/config.toml" in " ".join(setup)
    example = (ROOT / "deploy" / "config.example.toml").read_text()
    assert f'url = "sqlite:////var/lib/{unit["StateDirectory"][0]}/gateway.db"' in example
