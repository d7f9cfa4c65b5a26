"""`xmpp-gateway admin contact ...` with several transports of a kind: a contact belongs to an instance, named by
--transport NAME (or the CSV's transport column) and read with that instance's settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.admin.contacts import parse_contacts_csv
from gateway.cli import main
from gateway.store.contacts import NewContact
from tests.support import cli as support

ALICE = "alice@example.org"


def _sms(name: str, region: str = "US") -> str:
    return (f'\n[transports.{name}]\ntype = "sms"\njid = "{name}.example.org"\nsecret = "component-secret"\n'
            f'account_sid = "AC{"cd" * 16}"\nauth_token = "token"\ndefault_region = "{region}"\n')


class Cli(support.Cli):
    """A database with alice on it, and the given transport tables."""

    def __init__(self, tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str], *tables: str) -> None:
        super().__init__(tmp_path / "config.toml", capsys)
        self.config.write_text(f'[database]\nurl = "{database_url}"\n' + "".join(tables))
        assert main(["db", "upgrade", "-c", str(self.config)]) == 0
        assert self("user", "add", ALICE)[0] == 0

    def listed(self, *args: str) -> list[tuple[str, str]]:
        return [(c["transport"], c["address"]) for c in json.loads(self.ok("contact", "list", ALICE, "--json", *args))]


def test_each_instance_has_its_own_contacts(tmp_path: Path, database_url: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(tmp_path, database_url, capsys, _sms("sms-home"), _sms("sms-work", "GB"))
    cli.ok("contact", "add", ALICE, "--sms", "(202) 555-0100", "--name", "Mom", "--transport", "sms-home")
    # Read by sms-work's own region (GB).
    assert cli.ok("contact", "add", ALICE, "--sms", "020 7946 0958", "--name", "Office", "--transport",
                  "sms-work") == f"{ALICE} sees sms-work +442079460958 as 'Office'\n"

    assert cli.listed("--transport", "sms-home") == [("sms-home", "+12025550100")]
    assert cli.listed("--transport", "sms-work") == [("sms-work", "+442079460958")]
    assert sorted(cli.listed("--transport", "sms")) == [("sms-home", "+12025550100"), ("sms-work", "+442079460958")]

    status, _, err = cli("contact", "remove", ALICE, "--sms", "+12025550100", "--transport", "sms-work")
    assert status == 1 and "has no sms-work contact +12025550100" in err
    assert cli.ok("contact", "remove", ALICE, "--sms", "+12025550100", "--transport", "sms-home") == (
        f"removed the sms-home contact +12025550100 of {ALICE}\n")
    assert cli.listed() == [("sms-work", "+442079460958")]


def test_with_several_the_instance_must_be_named(tmp_path: Path, sqlite_url: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(tmp_path, sqlite_url, capsys, _sms("sms-home"), _sms("sms-work", "GB"))
    for command in (("add", "--name", "Mom"), ("remove",)):
        status, _, err = cli("contact", command[0], ALICE, "--sms", "+12025550100", *command[1:])
        assert status == 2
        assert "configures several SMS transports (sms-home, sms-work): name one with --transport NAME" in err
    status, _, err = cli("contact", "add", ALICE, "--sms", "+12025550100", "--name", "Mom", "--transport", "irc")
    assert status == 2 and "has no SMS transport of that name (SMS transports: sms-home, sms-work)" in err
    status, _, err = cli("contact", "list", ALICE, "--transport", "fax")
    assert status == 2 and "has no transport of that name" in err
    assert cli.listed() == []


def test_the_only_instance_of_a_kind_is_meant(tmp_path: Path, sqlite_url: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(tmp_path, sqlite_url, capsys, _sms("texts", "GB"))
    assert cli.ok("contact", "add", ALICE, "--sms", "020 7946 0958", "--name", "Office") == (
        f"{ALICE} sees texts +442079460958 as 'Office'\n")
    assert cli.listed("--transport", "sms") == cli.listed("--transport", "texts") == [("texts", "+442079460958")]
    csv = tmp_path / "contacts.csv"
    csv.write_text("name,transport,address\nMom,sms,+12025550100\n")  # the kind: its only instance
    cli.ok("contact", "import", ALICE, str(csv))
    assert ("texts", "+12025550100") in cli.listed()


def test_csv_rows_name_instances(tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(tmp_path, database_url, capsys, _sms("sms-home"), _sms("sms-work", "GB"))
    csv = tmp_path / "contacts.csv"
    csv.write_text("name,transport,address\nMom,sms-home,(202) 555-0100\nOffice,SMS-Work,020 7946 0958\n"
                   "Bob,irc,bob%libera\n")
    assert cli.ok("contact", "import", ALICE, str(csv)) == f"imported 3 contacts for {ALICE} from {csv}\n"
    assert sorted(cli.listed()) == [("irc", "bob%libera"), ("sms-home", "+12025550100"),
                                    ("sms-work", "+442079460958")]

    csv.write_text("name,transport,address\nCarol,sms,+12025550101\nDave,fax,123\n")
    status, _, err = cli("contact", "import", ALICE, str(csv))
    assert status == 1
    assert ":2: several SMS transports are configured: name one of sms-home or sms-work" in err
    assert ":3: unknown transport 'fax': use irc, sms, sms-home or sms-work" in err


def test_csv_parsing_maps_an_instance_to_its_kind() -> None:
    kinds = {"sms-work": "sms", "chat": "irc"}
    good, rejected, rows = parse_contacts_csv(
        "name,transport,address\nOffice,sms-work,+12025550100\nBob,chat,Bob%Libera\nEve,chat,+12025550100\n",
        None, kinds=kinds)
    assert good == [(2, NewContact("sms-work", "+12025550100", "Office", None)),
                    (3, NewContact("chat", "bob%libera", "Bob", None))]
    assert rows == 3 and [r.line for r in rejected] == [4]
