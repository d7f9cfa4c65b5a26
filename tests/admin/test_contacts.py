"""Contact administration: SMS numbers read by the SMS rules, IRC nick%network checked, CSV import all or nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.admin.contacts import (
    ImportReport,
    Rejected,
    add_contact,
    csv_help,
    import_contacts,
    list_contacts,
    parse_contacts_csv,
    remove_contact,
)
from gateway.admin.users import AdminError, add_user
from gateway.store.contacts import ContactExists, ContactRecord, NewContact
from gateway.store.store import Store
from gateway.transports.irc.admin import contact_address as irc_address
from gateway.transports.settings import TransportSettings
from gateway.transports.sms.settings import SmsSettings

ALICE = "alice@example.org"
SMS, IRC = "sms", "irc"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(database_url, migrate=True)
    await add_user(opened, ALICE)
    yield opened
    await opened.close()


def gb_settings() -> dict[str, TransportSettings]:
    """The configured transports: SMS in the United Kingdom."""
    return {SMS: SmsSettings.model_validate({"jid": "sms.example.org", "secret": "s", "account_sid": "AC" + "ab" * 16,
                                             "auth_token": "t", "default_region": "GB"})}


# -- addresses ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "stored"), [
    ("alice%libera", "alice%libera"),
    (" Alice%Libera ", "alice%libera"),  # one IRC user, one contact, however it is typed
    ("[Away]`_^{|}-2%irc.example.org", "{away}`_^{|}-2%irc.example.org"),  # rfc1459: [] are the upper case of {}
])
def test_irc_addresses_are_checked_and_folded_by_the_irc_rules(text: str, stored: str) -> None:
    assert irc_address(text) == stored


@pytest.mark.parametrize(("text", "reason"), [
    ("alice", "'alice' is a network: a contact is nick%network"),
    ("alice%", "names no network after the '%'"),
    ("%libera", "names no channel or nick before the '%'"),
    ("#python%libera", "'#python%libera' is a channel"),
    ("al!ce%libera", "'al!ce' is no IRC nick: it contains '!'"),
    ("al ice%libera", "'al ice' is no IRC nick: it contains a space"),
    ("a" * 65 + "%libera", "longer than 64 bytes"),
    ("alice%lib era", "'lib era' in 'alice%lib era' is no IRC network name"),
])
def test_irc_addresses_of_another_shape_are_refused(text: str, reason: str) -> None:
    with pytest.raises(AdminError) as caught:
        irc_address(text)
    assert reason in str(caught.value)


# -- add, list, remove --------------------------------------------------------------------------------------
async def test_add_list_remove(store: Store) -> None:
    mom = await add_contact(store, "Alice@Example.org", SMS, "+1 (202) 555-0100", " Mom ", "Family", None)
    assert mom == ContactRecord(ALICE, SMS, "+12025550100", "Mom", "Family")
    await add_contact(store, ALICE, IRC, "Bob%Libera", "Bob", "", None)
    await add_contact(store, ALICE, SMS, "020 7946 0958", "London office", None, gb_settings())

    assert await list_contacts(store, ALICE) == [
        ContactRecord(ALICE, IRC, "bob%libera", "Bob", None),
        ContactRecord(ALICE, SMS, "+442079460958", "London office", None),
        ContactRecord(ALICE, SMS, "+12025550100", "Mom", "Family"),
    ]
    assert [c.name for c in await list_contacts(store, ALICE, IRC)] == ["Bob"]

    assert await remove_contact(store, ALICE, SMS, "+12025550100", None) == "+12025550100"
    assert await remove_contact(store, ALICE, IRC, "BOB%libera", None) == "bob%libera"
    assert [c.address for c in await list_contacts(store, ALICE)] == ["+442079460958"]


async def test_refusals_say_why(store: Store) -> None:
    await add_contact(store, ALICE, SMS, "+12025550100", "Mom", None, None)
    with pytest.raises(AdminError, match=r"^alice@example\.org already has the sms contact \+12025550100$"):
        await add_contact(store, ALICE, SMS, "+1 202 555 0100", "Mum", None, None)
    with pytest.raises(AdminError, match=r"^carol@example\.org is not a user \(add them with"):
        await add_contact(store, "carol@example.org", SMS, "+12025550100", "Mom", None, None)
    with pytest.raises(AdminError, match=r"^carol@example\.org is not a user"):
        await list_contacts(store, "carol@example.org")
    with pytest.raises(AdminError, match="is not a bare JID"):
        await add_contact(store, "alice@example.org/phone", SMS, "+12025550100", "Mom", None, None)
    with pytest.raises(AdminError, match="not a phone number"):
        await add_contact(store, ALICE, SMS, "mom's phone", "Mom", None, None)
    with pytest.raises(AdminError, match="the name is empty"):
        await add_contact(store, ALICE, SMS, "+12025550101", "  ", None, None)
    with pytest.raises(AdminError, match="the name is longer than 255 characters"):
        await add_contact(store, ALICE, SMS, "+12025550101", "x" * 256, None, None)
    with pytest.raises(AdminError, match=r"^alice@example\.org has no irc contact bob%libera$"):
        await remove_contact(store, ALICE, IRC, "bob%libera", None)
    assert [c.name for c in await list_contacts(store, ALICE)] == ["Mom"]


async def test_without_a_region_a_national_number_is_read_as_us(store: Store) -> None:
    # No [transports.sms] table: the same rules as `admin sms` (US, valid numbers only).
    assert (await add_contact(store, ALICE, SMS, "(202) 555-0100", "Mom", None, None)).address == "+12025550100"
    with pytest.raises(AdminError):
        await add_contact(store, ALICE, SMS, "020 7946 0958", "London", None, None)


# -- CSV ----------------------------------------------------------------------------------------------------
GOOD = """name,transport,address,group
Mom,sms,+12025550100,Family
"Smith, John",irc,JSmith%libera,

Office,sms,+1 202 555 0101,
"""


async def test_a_good_file_is_imported(store: Store) -> None:
    seen: list[tuple[str, int, int]] = []
    report = await import_contacts(store, ALICE, GOOD, None, progress=lambda *p: seen.append(p))

    assert report == ImportReport(rows=3, stored=3, rejected=[])
    assert await list_contacts(store, ALICE) == [
        ContactRecord(ALICE, IRC, "jsmith%libera", "Smith, John", None),
        ContactRecord(ALICE, SMS, "+12025550100", "Mom", "Family"),
        ContactRecord(ALICE, SMS, "+12025550101", "Office", None),
    ]
    assert seen[-1] == ("storing", 3, 3) and ("checking", 3, 3) in seen


BAD = """\ufeffAddress,Name,Transport
+12025550100,Mom,sms
+12025550101,,sms
alice,Alice,irc
+12025550102,Fax,fax
+1 202 555 0100,Mum,sms
+12025550103,Office,sms,extra
555,Short,sms

+12025550104,Carol,sms
+12025550105,Dave,
"""


async def test_one_bad_row_stores_nothing_and_each_is_named_with_its_line(store: Store) -> None:
    await add_contact(store, ALICE, SMS, "+12025550104", "Carol", None, None)

    report = await import_contacts(store, ALICE, BAD, None)

    assert report.stored == 0 and report.rows == 9
    assert [(r.line, r.reason.split(":")[0] if "fax" not in r.reason else r.reason) for r in report.rejected] == [
        (3, "the name is empty"),
        (4, "'alice' is a network"),
        (5, "unknown transport 'fax': use irc or sms"),
        (6, "sms +12025550100 is already on line 2"),
        (7, "4 fields, the header names 3"),
        (8, "'555' (read as +1555) is not a phone number"),
        (10, "alice@example.org already has the sms contact +12025550104 (Carol)"),
        (11, "the transport is empty"),
    ]
    assert [c.name for c in await list_contacts(store, ALICE)] == ["Carol"]  # nothing of the file


async def test_skip_bad_stores_the_good_rows(store: Store) -> None:
    await add_contact(store, ALICE, SMS, "+12025550104", "Carol", None, None)

    report = await import_contacts(store, ALICE, BAD, None, skip_bad=True)

    assert report.stored == 1 and len(report.rejected) == 8
    assert [c.name for c in await list_contacts(store, ALICE)] == ["Carol", "Mom"]


@pytest.mark.parametrize(("text", "reason"), [
    ("", "the file is empty"),
    ("\n\n", "the file is empty"),
    ("name,transport,phone\nMom,sms,+12025550100\n", "line 1: unknown column 'phone'"),
    ("name,address\nMom,+12025550100\n", "line 1: the header has no transport column"),
    ("name,transport,address,name\n", "line 1: a column is named twice"),
    ('name,transport,address\nA,sms,+12025550100\n"Mom,sms,+12025550100\n', "line 3: a quoted field is never"),
    ('name,transport,address\n"Mom"x,sms,+12025550100\n', "line 2: not valid CSV"),
])
def test_a_file_without_a_usable_header_is_refused(text: str, reason: str) -> None:
    with pytest.raises(AdminError) as caught:
        parse_contacts_csv(text, None)
    assert reason in str(caught.value)


def test_a_quoted_field_over_two_lines_keeps_the_line_numbers_right() -> None:
    text = 'name,transport,address\n"Two\nlines",sms,+12025550100\nBad,sms,nope\n'
    good, rejected, rows = parse_contacts_csv(text, None)
    assert [(line, c.name) for line, c in good] == [(2, "Two\nlines")]
    assert [r.line for r in rejected] == [4] and rows == 2


async def test_an_unknown_user_is_refused_before_reading(store: Store) -> None:
    with pytest.raises(AdminError, match=r"^carol@example\.org is not a user"):
        await import_contacts(store, "carol@example.org", GOOD, None)


async def test_regions_apply_to_the_file(store: Store) -> None:
    text = "name,transport,address\nLondon,sms,020 7946 0958\n"
    assert (await import_contacts(store, ALICE, text, None)).rejected == [
        Rejected(2, "'020 7946 0958' (read as +102079460958) is not a phone number: it has too many digits for "
                    "country code +1.")]
    assert (await import_contacts(store, ALICE, text, gb_settings())).stored == 1
    assert [c.address for c in await list_contacts(store, ALICE)] == ["+442079460958"]


async def test_add_many_is_one_transaction(store: Store) -> None:
    await add_contact(store, ALICE, SMS, "+12025550199", "Last", None, None)
    batch = [NewContact(SMS, f"+1202555{i:04d}", f"P{i}") for i in range(100, 200)]
    with pytest.raises(ContactExists):  # the last one of the last chunk clashes
        await store.contacts.add_many(ALICE, batch, chunk=30)
    assert [c.name for c in await store.contacts.find(ALICE)] == ["Last"]

    done: list[int] = []
    assert await store.contacts.add_many(ALICE, batch[:-1], chunk=30, progress=done.append) == 99
    assert done == [30, 60, 90, 99]
    assert len(await store.contacts.find(ALICE)) == 100


async def test_via_names_one_of_the_users_own_numbers(store: Store) -> None:
    await store.bindings.bind(ALICE, SMS, "+12025550101")
    mapped = await add_contact(store, ALICE, SMS, "+1 202 555 0100", "Work", None, None, via="+1 (202) 555-0101")
    assert mapped.via == "+12025550101"
    with pytest.raises(AdminError, match=r"\+12025550199 is not bound to alice@example.org"):
        await add_contact(store, ALICE, SMS, "+12025550123", "Other", None, None, via="+12025550199")
    with pytest.raises(AdminError, match="SMS contacts only"):
        await add_contact(store, ALICE, IRC, "bob%libera", "Bob", None, None, via="+12025550101")


def test_the_csv_help_names_each_installed_transport_with_its_addresses() -> None:
    text = csv_help()
    assert "  transport  irc or sms (required)" in text
    assert "irc: nick%network, e.g. alice%libera" in text
    assert "sms: a phone number, +14155552671 (or national" in text
    assert "  Bob,sms,+14155552671," in text
