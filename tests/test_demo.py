"""`xmpp-gateway demo`: a first try works from any XMPP client, and Ctrl-C leaves nothing running."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from gateway.devstack.ngircd import ngircd_available
from gateway.devstack.prosody import prosody_available
from tests.support.stack import fetch, wait_until
from tests.support.xmpp_client import TestClient

pytestmark = pytest.mark.skipif(not prosody_available(), reason="prosody is not installed")


def _wait_for_banner(process: subprocess.Popen[bytes], output: Path, timeout: float = 20) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = output.read_text(errors="replace")
        if "Ctrl-C stops everything" in seen:
            return seen
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"no demo banner; output so far:\n{seen}")


async def _texts_to(sandbox_url: str, number: str) -> list[str]:
    status, body = await fetch(f"{sandbox_url}/sandbox/messages")
    assert status == 200
    return [m["body"] for m in json.loads(body)["messages"] if m["to"] == number]


async def fetch_post(url: str, form: dict[str, str]) -> None:
    async with aiohttp.ClientSession() as session, session.post(url, data=form) as response:
        assert response.status == 200, await response.text()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_demo_user_gets_an_echo_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    output = tmp_path / "demo.out"
    with output.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "gateway", "demo", "--dir", str(tmp_path / "demo")],
                                   stdout=sink, stderr=subprocess.STDOUT)
    try:
        banner = _wait_for_banner(process, output)
        password = re.search(r"password\s+(\S+)", banner)
        port = re.search(r"server\s+127\.0\.0\.1, port (\d+)", banner)
        assert password and port, banner
        prosody_pid = int((tmp_path / "demo" / "prosody" / "prosody.pid").read_text())

        client = TestClient("demo@localhost", password.group(1))
        await client.start(port=int(port.group(1)))
        client.make_message(mto="echo@loopback.localhost", mbody="first try", mtype="chat").send()
        echo = await client.next_message(timeout=10, predicate=lambda m: m["body"] == "first try")
        assert str(echo["from"]) == "echo@loopback.localhost"

        # SMS through the demo's sandbox: the text shows on the phone, and a reply from there comes back.
        phone_page = re.search(r"the phone page\s+(http://\S+)/", banner)
        assert phone_page, banner
        client.make_message(mto="+12025550123@sms.localhost", mbody="hello phone", mtype="chat").send()
        await wait_until(lambda: _texts_to(phone_page.group(1), "+12025550123"), timeout=10)
        await fetch_post(f"{phone_page.group(1)}/sandbox/inbound",
                         {"From": "+12025550123", "To": "+12025550100", "Body": "hello demo"})
        reply = await client.next_message(timeout=10, predicate=lambda m: m["body"] == "hello demo")
        assert str(reply["from"]) == "+12025550123@sms.localhost"

        # IRC: the demo's channel on its own ngircd, as a group chat.
        assert ("IRC: join the group chat" in banner) == ngircd_available(), banner
        if ngircd_available():
            client.register_plugin("xep_0045")
            room = "#demo%demo@irc.localhost"
            await client.plugin["xep_0045"].join_muc_wait(room, "demo", timeout=15)
            client.make_message(mto=room, mbody="hello irc", mtype="groupchat").send()
            echo = await client.next_message(timeout=10, predicate=lambda m: m["body"] == "hello irc")
            assert str(echo["from"]) == f"{room}/demo"
        await client.stop()

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
        deadline = time.monotonic() + 5
        while _pid_alive(prosody_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _pid_alive(prosody_pid), "the demo's Prosody outlived Ctrl-C"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
