"""The sandbox's phone page in real headless Chromium: read what the XMPP user texted, reply from the phone."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from gateway.app import Gateway
from gateway.transports.sms.sandbox import SmsSandbox
from tests.e2e.sms.conftest import PEER, SMS
from tests.support.xmpp_client import TestClient

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("chromium and chromium-driver are not installed (make test installs them)")
        pytest.skip("chromium and chromium-driver are not installed")
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager try to download a driver
    profile = tempfile.mkdtemp(prefix="chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _read_and_reply(driver: webdriver.Chrome, url: str, expected: str, reply: str) -> None:
    digits = PEER.lstrip("+")
    driver.get(url)
    wait = WebDriverWait(driver, 15)
    delivered = (By.CSS_SELECTOR, f'#phone-{digits} li.from-gateway[data-status="delivered"] .body')
    wait.until(expected_conditions.text_to_be_present_in_element(delivered, expected))
    driver.find_element(By.ID, f"reply-body-{digits}").send_keys(reply)
    driver.find_element(By.ID, f"reply-send-{digits}").click()
    wait.until(expected_conditions.presence_of_element_located((By.ID, "reply-status")))
    assert driver.find_element(By.ID, "reply-status").get_attribute("data-result") == "delivered"


async def test_the_phone_page_shows_a_text_and_sends_the_reply(
        gateway: Gateway, sandbox: SmsSandbox, alice: TestClient, browser: webdriver.Chrome) -> None:
    alice.make_message(mto=f"{PEER}@{SMS}", mbody="Are you on the phone page?", mtype="chat").send()

    # Selenium blocks: in a thread, so that the gateway and the sandbox (this event loop) keep serving.
    await asyncio.to_thread(_read_and_reply, browser, sandbox.url + "/", "Are you on the phone page?",
                            "Yes, replying from the page")

    reply = await alice.next_message(timeout=10, predicate=lambda m: m["body"] == "Yes, replying from the page")
    assert str(reply["from"]) == f"{PEER}@{SMS}"
