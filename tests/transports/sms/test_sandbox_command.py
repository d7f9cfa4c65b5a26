"""`xmpp-gateway sms-sandbox` runs the sandbox with the config's credentials, or says what is missing."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from gateway.devstack.ports import free_port
from tests.support.stack import http_get

SID = "AC" + "cd" * 16


def test_runs_with_the_configs_account_and_serves_the_phone_page(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"""
[transports.sms]
jid = "sms.example.org"
secret = "component-secret"
account_sid = "{SID}"
auth_token = "token"
""")
    port = free_port()
    output = tmp_path / "out.log"
    with output.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "gateway", "sms-sandbox", "-c", str(config),
                                    "--listen", f"127.0.0.1:{port}", "--number", "+12025550100"],
                                   stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while "SMS sandbox on" not in output.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, output.read_text()
            time.sleep(0.05)
        assert f"http://127.0.0.1:{port}" in output.read_text()
        assert "http://127.0.0.1:8080/sms/inbound" in output.read_text()  # [http] default, where texts go
        status, page = http_get(f"http://127.0.0.1:{port}/")
        assert status == 200 and b"+12025550100" in page
    finally:
        process.terminate()
        process.wait(10)


def test_without_an_sms_table_it_says_so(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[xmpp]\n")
    result = subprocess.run([sys.executable, "-m", "gateway", "sms-sandbox", "-c", str(config)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "has no SMS transport (a [transports.sms] table, or one with type = \"sms\")" in result.stderr
    assert "Traceback" not in result.stderr
