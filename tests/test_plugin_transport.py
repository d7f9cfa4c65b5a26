"""A transport from another distribution plugs in with no change under gateway/: tests/plugin_transport (a pager
network), installed through an entry point of a throwaway distribution, gets its config table, its Alembic branch
and table, its CLI sub-command, contact addresses in the CLI and CSV import, its ad-hoc and chat commands and its
registration form."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from slixmpp import JID

from gateway.app import Gateway
from gateway.cli import main
from gateway.config import load_config
from gateway.devstack.ports import free_port
from gateway.devstack.prosody import ComponentSpec, ProsodyServer, prosody_available
from gateway.transports.discovery import descriptors
from tests.e2e.test_adhoc_support import ADMIN, command_nodes, execute, notes, table
from tests.plugin_transport.settings import PagerSettings
from tests.support.cli import Cli
from tests.support.stack import raw_config, start_gateway, to_toml
from tests.support.xmpp_client import TestClient

PAGER = "pager.localhost"
SECRET = "pager-secret"
ALICE = "alice@example.org"
NS = "jabber:iq:register"
DATA = "jabber:x:data"


def install(site: Path) -> None:
    """A distribution as pip would leave it, holding nothing but the entry point."""
    dist = site / "xmpp_gateway_pager-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: xmpp-gateway-pager\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[xmpp_gateway.transports]\npager = tests.plugin_transport.descriptor:DESCRIPTOR\n")


@pytest.fixture
def pager_installed(tmp_path: Path) -> Iterator[None]:
    site = tmp_path / "site-packages"
    install(site)
    sys.path.append(str(site))
    descriptors.cache_clear()
    yield
    sys.path.remove(str(site))
    descriptors.cache_clear()


def test_only_an_installed_distribution_makes_it_a_transport(tmp_path: Path) -> None:
    assert "pager" not in descriptors()
    install(tmp_path)
    sys.path.append(str(tmp_path))
    try:
        descriptors.cache_clear()
        assert list(descriptors()) == ["irc", "loopback", "pager", "sms"]
    finally:
        sys.path.remove(str(tmp_path))
        descriptors.cache_clear()
    assert "pager" not in descriptors()


# -- the command line ---------------------------------------------------------------------------------------
@pytest.fixture
def cli(pager_installed: None, tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{database_url}"\n\n'
                      f'[transports.pager]\njid = "{PAGER}"\nsecret = "{SECRET}"\ndefault_tone = "chirp"\n')
    return Cli(config, capsys, prefix=())


def test_the_config_table_is_read_by_the_transports_settings(cli: Cli) -> None:
    settings = load_config(cli.config, {}).transports["pager"]
    assert isinstance(settings, PagerSettings) and settings.default_tone == "chirp"


def test_its_table_cli_contacts_and_cleanup(cli: Cli, tmp_path: Path) -> None:
    # The pager branch's revision makes its table, beside the shared ones.
    assert cli.ok("db", "upgrade").rstrip().endswith(", pager_0001")
    status, _, err = cli("admin", "pager", "tone", "list")
    assert status == 0, err
    cli.ok("admin", "user", "add", ALICE, "--transport", "pager")

    assert cli.ok("admin", "pager", "tone", "set", ALICE, "buzz") == f"{ALICE} pages with buzz\n"
    assert cli.ok("admin", "pager", "tone", "list").split() == ["JID", "TONE", ALICE, "buzz"]

    assert cli.ok("admin", "contact", "add", ALICE, "--pager", "P-12 34", "--name", "Bob") == (
        f"{ALICE} sees pager p1234 as 'Bob'\n")
    status, _, err = cli("admin", "contact", "add", ALICE, "--pager", "1234", "--name", "Nobody")
    assert status == 1 and "'1234' is no pager number" in err
    status, _, err = cli("admin", "contact", "add", ALICE, "--pager", "p99", "--name", "X", "--via", "p98")
    assert status == 1 and "--via names one of the user's bound addresses: it applies to SMS contacts only" in err

    csv = tmp_path / "contacts.csv"
    csv.write_text("name,transport,address\nCarol,pager,p 5678\nDave,pager,5678\n")
    status, out, err = cli("admin", "contact", "import", ALICE, str(csv), "--skip-bad", "--json")
    assert status == 0, err
    assert json.loads(out)["imported"] == 1
    assert "contacts.csv:3: '5678' is no pager number" in err
    listed = json.loads(cli.ok("admin", "contact", "list", ALICE, "--transport", "pager", "--json"))
    assert [(c["name"], c["address"]) for c in listed] == [("Bob", "p1234"), ("Carol", "p5678")]
    with pytest.raises(SystemExit):
        main(["admin", "contact", "import", "--help"])
    help_text = cli.capsys.readouterr().out
    assert "pager: a pager number, p and 2 to 8 digits, e.g. p1234" in help_text

    cli.ok("admin", "user", "add", "bob@example.org", "--transport", "pager")
    cli.ok("admin", "pager", "tone", "set", "bob@example.org", "beep")
    cli.ok("admin", "user", "remove", ALICE, "--transport", "pager")
    assert cli.ok("admin", "pager", "tone", "list").split() == ["JID", "TONE", "bob@example.org", "beep"], (
        "a user leaving the transport takes their row of its table")


def test_its_tables_go_before_it_is_uninstalled(cli: Cli, tmp_path: Path) -> None:
    cli.ok("db", "upgrade")
    cli.ok("admin", "user", "add", ALICE, "--transport", "pager")
    cli.ok("admin", "pager", "tone", "set", ALICE, "buzz")
    configured = cli.config.read_text()

    err = cli.refused("db", "drop-transport", "pager", "--yes", status=2)
    assert f"{cli.config} still configures [transports.pager]: take it out first" in err
    cli.config.write_text(configured.split("[transports.pager]")[0])
    err = cli.refused("db", "drop-transport", "pager", status=2)
    assert "this deletes the pager transport's tables and all their rows: run again with --yes" in err
    assert "keeps no tables of its own" in cli.refused("db", "drop-transport", "loopback", "--yes", status=2)
    assert "no transport kind fax is installed" in cli.refused("db", "drop-transport", "fax", "--yes", status=2)

    assert cli.ok("db", "drop-transport", "pager", "--yes") == (
        "dropped the pager transport's tables (revisions pager_0001 undone)\n")
    assert cli.ok("db", "drop-transport", "pager", "--yes") == "the database holds no tables of the pager transport\n"
    assert "run `xmpp-gateway db upgrade" in cli.refused("admin", "pager", "tone", "list")
    # Installed still: the next upgrade makes its table again, empty.
    assert cli.ok("db", "upgrade").rstrip().endswith(", pager_0001")
    assert cli.ok("admin", "pager", "tone", "list") == "(none)\n", "buzz went with the table"


def test_uninstalled_before_its_tables_went_the_database_says_so(cli: Cli, tmp_path: Path) -> None:
    assert cli.ok("db", "upgrade").rstrip().endswith(", pager_0001")
    cli.config.write_text(cli.config.read_text().split("[transports.pager]")[0])
    site = next(p for p in sys.path if p.endswith("site-packages") and p.startswith(str(tmp_path)))
    sys.path.remove(site)  # uninstalled
    descriptors.cache_clear()
    try:
        err = cli.refused("admin", "user", "list")
        assert "at revision pager_0001, which nothing installed provides" in err
        assert "at revision pager_0001, which nothing installed provides" in cli.refused("db", "upgrade")
    finally:
        sys.path.append(site)
        descriptors.cache_clear()


# -- XMPP: commands, chat, registration, messages -----------------------------------------------------------
@pytest.fixture
def pager_prosody(pager_installed: None, tmp_path: Path) -> Iterator[ProsodyServer]:
    if not prosody_available():
        pytest.skip("prosody is not installed")
    with ProsodyServer(tmp_path / "prosody", components=[ComponentSpec(PAGER, SECRET)]) as server:
        yield server


@pytest.fixture
async def pager_gateway(pager_prosody: ProsodyServer, tmp_path: Path, sqlite_url: str) -> AsyncIterator[Gateway]:
    raw = raw_config(component_port=pager_prosody.component_port, http_port=free_port(), database_url=sqlite_url,
                     admins=(ADMIN,), transports={"pager": {"jid": PAGER, "secret": SECRET, "access": "open"}})
    (tmp_path / "config.toml").write_text(to_toml(raw))
    running = await start_gateway(raw, tmp_path)
    yield running
    await running.stop()


async def login(prosody: ProsodyServer, name: str) -> TestClient:
    client = TestClient(prosody.register(name, "pw"), "pw")
    client.register_plugin("xep_0004")
    client.register_plugin("xep_0050")
    await client.start(port=prosody.c2s_port)
    return client


async def ask(client: TestClient, text: str) -> str:
    client.send_message(mto=PAGER, mbody=text, mtype="chat")
    reply = await client.next_message(predicate=lambda m: str(m["from"]) == PAGER and bool(m["body"]))
    return str(reply["body"])


async def register(client: TestClient, nick: str) -> ET.Element:
    """The registration form, then a registration with `nick` as the pager name; returns the form's query."""
    reply = await client.iq(PAGER, ET.Element(f"{{{NS}}}query"), type="get")
    query = reply.xml.find(f"{{{NS}}}query")
    assert query is not None
    submitted = ET.Element(f"{{{NS}}}query")
    form = ET.SubElement(submitted, f"{{{DATA}}}x", type="submit")
    for var, value in (("FORM_TYPE", NS), ("nick", nick)):
        field = ET.SubElement(form, f"{{{DATA}}}field", var=var)
        ET.SubElement(field, f"{{{DATA}}}value").text = value
    await client.iq(PAGER, submitted, type="set")
    return query


async def test_commands_registration_and_pages_over_xmpp(pager_prosody: ProsodyServer, pager_gateway: Gateway
                                                         ) -> None:
    store = pager_gateway.store
    assert store is not None
    alice, boss = await login(pager_prosody, "alice"), await login(pager_prosody, "boss")
    try:
        query = await register(alice, "alice")
        assert "Your pager name is shown on every page you send." in (query.findtext(f"{{{NS}}}instructions") or "")
        labels = {f.get("var"): f.get("label") for f in query.findall(f"{{{DATA}}}x/{{{DATA}}}field")}
        assert labels["nick"] == "Pager name (letters a-z)"
        assert await store.users.nick("alice@localhost", "pager") == "alice"

        assert {"pager/tone", "contacts/add"} <= set(await command_nodes(alice, PAGER))
        assert "admin/pager/tones" not in await command_nodes(alice, PAGER)
        assert "admin/pager/tones" in await command_nodes(boss, PAGER)
        done = await execute(alice, PAGER, "pager/tone", {"tone": "chirp"})
        assert notes(done) == [("info", "Your tone is chirp.")]
        assert await ask(alice, "pager-tone buzz") == "Your tone is buzz."
        assert "pager-tone <tone>: The tone your pages are answered with." in await ask(alice, "help")
        assert table(await execute(boss, PAGER, "admin/pager/tones")) == [{"jid": "alice@localhost", "tone": "buzz"}]

        adhoc = alice.plugin["xep_0050"]
        first = await adhoc.send_command(JID(PAGER), "contacts/add", action="execute", timeout=5)
        labels = {f.get("var"): f.get("label") for f in first.xml.iter(f"{{{DATA}}}field")}
        assert labels["address"] == "Address (a pager number, e.g. p1234)"
        assert await ask(alice, "add p1234 Bob") == "Added Bob (p1234) to the contacts of alice@localhost."

        alice.send_message(mto=f"p1234@{PAGER}", mbody="are you there?", mtype="chat")
        page = await alice.next_message(predicate=lambda m: str(m["from"]).startswith("p1234@") and bool(m["body"]))
        assert str(page["body"]) == "(beep)"
    finally:
        await alice.stop()
        await boss.stop()
