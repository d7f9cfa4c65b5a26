"""`xmpp-gateway admin user ...` and `admin contact ...` on both databases: tables, --json, exit statuses."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from gateway.cli import main
from tests.support.cli import Cli

SID = "AC" + "cd" * 16
ALICE = "alice@example.org"


def write_config(tmp_path: Path, database_url: str, sms: bool = False, loopback: bool = False) -> Path:
    path = tmp_path / "config.toml"
    text = f'[xmpp]\nadmins = ["root@example.org"]\n\n[database]\nurl = "{database_url}"\n'
    if sms:
        text += (f'\n[transports.sms]\njid = "sms.example.org"\nsecret = "component-secret"\n'
                 f'account_sid = "{SID}"\nauth_token = "token"\ndefault_region = "GB"\n')
    if loopback:
        text += '\n[transports.loopback]\njid = "loopback.example.org"\nsecret = "component-secret"\n'
    path.write_text(text)
    return path


@pytest.fixture
def cli(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    config = write_config(tmp_path, database_url)
    assert main(["db", "upgrade", "-c", str(config)]) == 0
    capsys.readouterr()
    return Cli(config, capsys)


def users(cli: Cli) -> list[dict[str, object]]:
    result: list[dict[str, object]] = json.loads(cli.ok("user", "list", "--json"))
    return result


# -- users ----------------------------------------------------------------------------------------------------
def test_user_flags_round_trip(cli: Cli) -> None:
    cli.ok("user", "add", ALICE)

    assert cli.ok("user", "disable", "Alice@Example.org") == "alice@example.org is disabled\n"
    assert cli.ok("user", "disable", ALICE) == "alice@example.org is disabled (it already was)\n"
    assert users(cli) == [{"jid": ALICE, "is_admin": False, "enabled": False, "transports": []}]
    assert cli.ok("user", "set-admin", ALICE) == "alice@example.org is an admin\n"
    assert cli.ok("user", "list").splitlines()[1].split() == [ALICE, "yes", "no"]

    assert cli.ok("user", "enable", ALICE) == "alice@example.org is enabled\n"
    assert cli.ok("user", "unset-admin", ALICE) == "alice@example.org is not an admin\n"
    assert users(cli) == [{"jid": ALICE, "is_admin": False, "enabled": True, "transports": []}]


def test_users_belong_to_the_transports_they_were_added_for(tmp_path: Path, database_url: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, database_url, sms=True, loopback=True)
    assert main(["db", "upgrade", "-c", str(config)]) == 0
    capsys.readouterr()
    cli = Cli(config, capsys)

    assert cli.ok("user", "add", ALICE) == f"added {ALICE} for loopback, sms\n"  # default: every transport
    assert cli.ok("user", "add", "bob@example.org", "--transport", "sms") == "added bob@example.org for sms\n"
    assert cli.refused("user", "add", "bob@example.org", "-t", "sms") == (
        "xmpp-gateway: bob@example.org is already a user of sms\n")
    assert cli.ok("user", "add", "bob@example.org", "-t", "loopback") == "added bob@example.org for loopback, sms\n"
    assert "no transport named irc is configured (configured: loopback, sms)" in cli.refused(
        "user", "add", "carol@example.org", "-t", "irc")
    assert cli.ok("user", "list").splitlines()[1].split() == [ALICE, "no", "yes", "loopback,sms"]

    cli.ok("contact", "add", ALICE, "--sms", "+44 20 7946 0958", "--name", "Office")
    assert cli.ok("user", "remove", ALICE, "--transport", "sms") == f"removed {ALICE} from sms with their data there\n"
    assert json.loads(cli.ok("contact", "list", ALICE, "--json")) == [], "the transport's contacts went with it"
    assert "is not a user of sms" in cli.refused("user", "remove", ALICE, "-t", "sms")
    assert cli.ok("user", "remove", ALICE, "-t", "loopback") == (
        f"removed {ALICE} from loopback with their data there; no transport left, so the user is removed\n")
    assert [u["jid"] for u in users(cli)] == ["bob@example.org"]


@pytest.mark.parametrize("command", ["enable", "disable", "set-admin", "unset-admin"])
def test_user_flags_refuse_unknown_users_and_bad_jids(cli: Cli, command: str) -> None:
    assert cli.refused("user", command, "carol@example.org") == "xmpp-gateway: carol@example.org is not a user\n"
    assert "is not a bare JID" in cli.refused("user", command, "carol@example.org/phone")
    assert "is not a valid JID" in cli.refused("user", command, "ca rol@example.org")
    assert users(cli) == []


def test_a_config_admin_is_told_that_the_flag_is_not_all(cli: Cli) -> None:
    cli.ok("user", "add", "root@example.org", "--admin")
    status, out, err = cli("user", "unset-admin", "root@example.org")
    assert status == 0 and out == "root@example.org is not an admin\n"
    assert "listed in [xmpp] admins" in err


# -- contacts -------------------------------------------------------------------------------------------------
def test_contacts_round_trip(cli: Cli) -> None:
    cli.ok("user", "add", ALICE)

    assert cli.ok("contact", "add", ALICE, "--sms", "+1 202 555 0100", "--name", "Mom", "--group", "Family") == (
        "alice@example.org sees sms +12025550100 as 'Mom' in group Family\n")
    assert cli.ok("contact", "add", ALICE, "--irc", "Bob%Libera", "--name", "Bob") == (
        "alice@example.org sees irc bob%libera as 'Bob'\n")

    assert cli.ok("contact", "list", ALICE).splitlines() == [
        "NAME  TRANSPORT  ADDRESS       GROUP",
        "Bob   irc        bob%libera",
        "Mom   sms        +12025550100  Family"]
    assert json.loads(cli.ok("contact", "list", ALICE, "--json")) == [
        {"name": "Bob", "transport": "irc", "address": "bob%libera", "group": None},
        {"name": "Mom", "transport": "sms", "address": "+12025550100", "group": "Family"}]
    assert json.loads(cli.ok("contact", "list", ALICE, "--transport", "sms", "--json")) == [
        {"name": "Mom", "transport": "sms", "address": "+12025550100", "group": "Family"}]

    assert cli.ok("contact", "remove", ALICE, "--sms", "(202) 555-0100") == (
        "removed the sms contact +12025550100 of alice@example.org\n")
    assert cli.ok("contact", "remove", ALICE, "--irc", "bob%libera") == (
        "removed the irc contact bob%libera of alice@example.org\n")
    assert cli.ok("contact", "list", ALICE) == "(none)\n"
    assert json.loads(cli.ok("contact", "list", ALICE, "--json")) == []


def test_contact_refusals(cli: Cli) -> None:
    cli.ok("user", "add", ALICE)
    cli.ok("contact", "add", ALICE, "--sms", "+12025550100", "--name", "Mom")

    assert "carol@example.org is not a user" in cli.refused("contact", "add", "carol@example.org", "--sms",
                                                            "+12025550100", "--name", "Mom")
    assert "carol@example.org is not a user" in cli.refused("contact", "list", "carol@example.org")
    assert "already has the sms contact +12025550100" in cli.refused("contact", "add", ALICE, "--sms",
                                                                     "+12025550100", "--name", "Mum")
    assert "not a phone number" in cli.refused("contact", "add", ALICE, "--sms", "mom", "--name", "Mom")
    assert "is a channel" in cli.refused("contact", "add", ALICE, "--irc", "#python%libera", "--name", "Py")
    assert "has no irc contact bob%libera" in cli.refused("contact", "remove", ALICE, "--irc", "bob%libera")
    assert "is not a bare JID" in cli.refused("contact", "list", "alice@example.org/phone")


def test_usage_mistakes_exit_2(cli: Cli) -> None:
    for args in (("contact", "add", ALICE, "--name", "Mom"),  # no address
                 ("contact", "add", ALICE, "--sms", "+12025550100", "--irc", "bob%libera", "--name", "Mom"),
                 ("contact", "add", ALICE, "--sms", "+12025550100")):  # no name
        with pytest.raises(SystemExit) as caught:
            cli(*args)
        assert caught.value.code == 2


def test_sms_numbers_follow_the_sms_settings(tmp_path: Path, sqlite_url: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, sqlite_url, sms=True)
    assert main(["db", "upgrade", "-c", str(config)]) == 0
    cli = Cli(config, capsys)
    cli.ok("user", "add", ALICE)
    assert "+442079460958" in cli.ok("contact", "add", ALICE, "--sms", "020 7946 0958", "--name", "Office")


# -- import ---------------------------------------------------------------------------------------------------
def test_import_good_and_bad_files(cli: Cli, tmp_path: Path) -> None:
    cli.ok("user", "add", ALICE)
    good = tmp_path / "good.csv"
    good.write_text("name,transport,address,group\nMom,sms,+12025550100,Family\nBob,irc,bob%libera,\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,transport,address\nCarol,sms,+12025550101\nNobody,sms,12\n,irc,x%y\n")

    status, out, err = cli("contact", "import", ALICE, str(bad))
    assert status == 1 and out == ""
    assert f"{bad}:3: '12' (read as +112) is not a phone number" in err
    assert f"{bad}:4: the name is empty" in err
    assert err.rstrip().endswith("xmpp-gateway: nothing imported: 2 of 3 rows rejected (fix them, or pass "
                                 "--skip-bad to import the others)")
    assert json.loads(cli.ok("contact", "list", ALICE, "--json")) == []

    assert cli.ok("contact", "import", ALICE, str(good)) == f"imported 2 contacts for {ALICE} from {good}\n"
    assert [c["name"] for c in json.loads(cli.ok("contact", "list", ALICE, "--json"))] == ["Bob", "Mom"]

    # Again: every row is there already, so nothing changes and each row says why.
    status, out, err = cli("contact", "import", ALICE, str(good), "--json")
    assert status == 1
    assert json.loads(out) == {"imported": 0, "rows": 2, "rejected": [
        {"line": 2, "reason": "alice@example.org already has the sms contact +12025550100 (Mom)"},
        {"line": 3, "reason": "alice@example.org already has the irc contact bob%libera (Bob)"}]}

    out = cli.ok("contact", "import", ALICE, str(bad), "--skip-bad")
    assert out == f"imported 1 contacts for {ALICE} from {bad}; 2 rows rejected\n"
    assert [c["name"] for c in json.loads(cli.ok("contact", "list", ALICE, "--json"))] == ["Bob", "Carol", "Mom"]


def test_import_refuses_files_it_cannot_use(cli: Cli, tmp_path: Path) -> None:
    cli.ok("user", "add", ALICE)
    assert "cannot read" in cli.refused("contact", "import", ALICE, str(tmp_path / "absent.csv"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,transport,address\nJosé,sms,+12025550100\n".encode("latin-1"))
    assert "is not UTF-8 text (line 2)" in cli.refused("contact", "import", ALICE, str(latin))
    headless = tmp_path / "headless.csv"
    headless.write_text("Mom,sms,+12025550100\n")
    assert "line 1: unknown column 'mom'" in cli.refused("contact", "import", ALICE, str(headless))
    assert "carol@example.org is not a user" in cli.refused("contact", "import", "carol@example.org",
                                                            str(headless))


def test_import_help_documents_the_format(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["admin", "contact", "import", "--help"])
    out = capsys.readouterr().out
    assert "name,transport,address,group" in out and "--skip-bad" in out and "nothing is stored" in out


def test_import_of_10000_rows(cli: Cli, tmp_path: Path, database_url: str) -> None:
    cli.ok("user", "add", ALICE)
    big = tmp_path / "big.csv"
    big.write_text("name,transport,address,group\n" + "".join(
        f"Person {i},sms,+1 202 555 {i:04d},Group {i % 10}\n" for i in range(10_000)))

    started = time.perf_counter()
    status, out, err = cli("contact", "import", ALICE, str(big))
    elapsed = time.perf_counter() - started
    with cli.capsys.disabled():  # shown with `pytest -s`
        print(f"\nimported 10,000 contacts in {elapsed:.2f} s on {database_url.split(':')[0]}")

    assert status == 0, err
    assert out == f"imported 10000 contacts for {ALICE} from {big}\n"
    assert "checking: 10000/10000" in err and "storing: 10000/10000" in err  # not a terminal: plain lines
    contacts = json.loads(cli.ok("contact", "list", ALICE, "--json"))
    assert len(contacts) == 10_000 and {"name": "Person 42", "transport": "sms", "address": "+12025550042",
                                        "group": "Group 2"} in contacts
    assert elapsed < 60  # a loose bound; inserting row by row with a commit each would take minutes


def test_user_list_shows_config_admins_as_admins(cli: Cli) -> None:
    cli.ok("user", "add", "root@example.org")  # named in [xmpp] admins, without the database flag
    cli.ok("user", "add", ALICE)
    rows = [line.split() for line in cli.ok("user", "list").splitlines()[1:]]
    assert [row[:2] for row in rows] == [[ALICE, "no"], ["root@example.org", "yes"]]
    assert {u["jid"]: u["is_admin"] for u in users(cli)} == {ALICE: False, "root@example.org": True}
