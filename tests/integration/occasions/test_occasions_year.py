"""Time travel: whole years of hourly runs. Each greeting arrives once, on its local day, after 09:00.

The run is called at five past every hour (as the schedule does), and every run is replayed at
once: the replay must send nothing. What arrived is read from SES's outbox and the ledger.

The contact table does not change while a year plays, so each index partition is queried against
moto the first time a run asks for it and the ids are remembered (`remembered_index`): moto spends
~1.5 ms per call, and a run reads 8-16 partitions. Everything else (BatchGetItem of the contacts,
the ledger, SES) goes to moto on every run. Real index queries across runs are exercised in
test_occasions.py and in the bench.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from crm_core.clock import FrozenClock
from crm_core.models import Contact, SentMessage, contact_id_for
from crm_core.occasions import send_occasions, store
from crm_core.occasions.store import Kind, Reads
from crm_core.settings import reset_settings
from tests.occasions_support import add_contact, production_send_rate

HOUR = timedelta(hours=1)
DEFAULT_ZONE = ZoneInfo("Europe/Rome")  # DEFAULT_TIME_ZONE of the template


@pytest.fixture(autouse=True)
def _production_send_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    production_send_rate(monkeypatch)


@pytest.fixture
def remembered_index(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[Kind, str], tuple[list[str], Reads]]:
    """Each (index, month-day) partition queried against moto once; the run's read counts stay true."""
    real = store.contact_ids_on
    known: dict[tuple[Kind, str], tuple[list[str], Reads]] = {}

    def contact_ids_on(kind: Kind, month_days: list[str], reads: Reads) -> list[str]:
        found: list[str] = []
        for month_day in month_days:
            if (kind, month_day) not in known:
                own = Reads()
                known[kind, month_day] = (real(kind, [month_day], own), own)
            ids, own = known[kind, month_day]
            reads.queries += own.queries
            reads.index_items += own.index_items
            found.extend(ids)
        return list(dict.fromkeys(found))

    monkeypatch.setattr(store, "contact_ids_on", contact_ids_on)
    return known


@dataclass(frozen=True)
class Delivery:
    address: str
    kind: str
    occurrence: str
    at: datetime  # the run that sent it


@dataclass
class Player:
    """Plays hourly runs on the frozen clock and remembers which run sent each email."""

    stack: Any
    clock: FrozenClock
    runs: int = 0

    def __post_init__(self) -> None:
        self.sent_at: dict[str, datetime] = {}

    def play(self, start: datetime, end: datetime) -> None:
        """Run, and replay at once, every hour from `start` to `end` (inclusive)."""
        at = start
        while at <= end:
            self.clock.set(at)
            before = len(self.stack.sent_emails())
            report = send_occasions()
            replay = send_occasions()
            sent = self.stack.sent_emails()
            assert len(sent) == before + report.sent, at
            assert replay.sent == 0, at  # a replay of any run sends nothing new
            self.sent_at.update((mail.id, at) for mail in sent[before:])
            self.runs += 1
            at += HOUR

    def deliveries(self) -> list[Delivery]:
        """Every greeting sent, from the ledger joined to the outbox by SES message id."""
        ledger = {item.ses_message_id: item for item in SentMessage.scan() if item.status == "sent"}
        assert set(ledger) == set(self.sent_at)
        addresses = {contact.contact_id: contact.email for contact in Contact.scan()}  # tests may scan
        found = [
            Delivery(addresses[item.contact_id], item.kind, item.occurrence, self.sent_at[message_id])
            for message_id, item in ledger.items()
        ]
        return sorted(found, key=lambda d: d.at)


def _z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ---------------------------------------------------------------- a whole year, hour by hour

# address: (time zone, birthday, customer since)
PEOPLE = {
    "rosa@example.com": ("Europe/Rome", "--03-26", "2020-10-29"),
    "nate@example.com": ("America/New_York", "1985-03-12", "2027-11-05"),
    "joko@example.com": ("Asia/Jakarta", "1992-02-29", "2028-06-01"),
    "kiri@example.com": ("Pacific/Kiritimati", "--01-01", "2026-12-31"),
    "pago@example.com": ("Pacific/Pago_Pago", "1970-12-31", "2024-02-29"),
    "nora@example.com": (None, "1999-07-15", "2021-01-01"),
}

# Worked out by hand (runs at HH:05 UTC; greetings from 09:00 local):
EXPECTED_YEAR = {
    # Rome springs forward on 26 March 2028 (09:00 CEST = 07:00Z) and falls back on 29 October (08:00Z).
    ("rosa@example.com", "birthday", "2028"): "2028-03-26T07:05:00Z",
    ("rosa@example.com", "anniversary", "2028"): "2028-10-29T08:05:00Z",
    # New York springs forward on 12 March 2028 (09:00 EDT = 13:00Z), falls back on 5 November (14:00Z).
    ("nate@example.com", "birthday", "2028"): "2028-03-12T13:05:00Z",
    ("nate@example.com", "anniversary", "2028"): "2028-11-05T14:05:00Z",
    # Born on 29 February: 2028 is a leap year, so the day itself (09:00 WIB = 02:00Z).
    ("joko@example.com", "birthday", "2028"): "2028-02-29T02:05:00Z",
    # Kiritimati (UTC+14) is first: its 1 January starts at 10:00Z on 31 December.
    ("kiri@example.com", "birthday", "2028"): "2027-12-31T19:05:00Z",
    ("kiri@example.com", "birthday", "2029"): "2028-12-31T19:05:00Z",
    # Its anniversary on 31 December 2027 was already past 09:00 when the play began (14:05 local):
    # the first run catches it up, the same local day.
    ("kiri@example.com", "anniversary", "2027"): "2027-12-31T00:05:00Z",
    ("kiri@example.com", "anniversary", "2028"): "2028-12-30T19:05:00Z",
    # Pago Pago (UTC-11) is last: 09:00 on 31 December is 20:00Z the same day.
    ("pago@example.com", "birthday", "2027"): "2027-12-31T20:05:00Z",
    ("pago@example.com", "birthday", "2028"): "2028-12-31T20:05:00Z",
    ("pago@example.com", "anniversary", "2028"): "2028-02-29T20:05:00Z",  # customer since 2024-02-29
    # No time zone: the business's (Europe/Rome).
    ("nora@example.com", "birthday", "2028"): "2028-07-15T07:05:00Z",
    ("nora@example.com", "anniversary", "2028"): "2028-01-01T08:05:00Z",
    ("nora@example.com", "anniversary", "2029"): "2029-01-01T08:05:00Z",
}


def test_a_whole_leap_year_hour_by_hour_greets_everyone_once_on_their_local_day(
    stack, frozen_clock: FrozenClock, remembered_index: dict
) -> None:
    for address, (zone, birthday, since) in PEOPLE.items():
        add_contact(address, birthday=birthday, customer_since=since, time_zone=zone)

    player = Player(stack, frozen_clock)
    player.play(_z("2027-12-31T00:05:00Z"), _z("2029-01-01T12:05:00Z"))
    deliveries = player.deliveries()

    assert player.runs >= 8760
    got = {(d.address, d.kind, d.occurrence): d.at for d in deliveries}
    assert len(got) == len(deliveries) == len(stack.sent_emails())  # each greeting once
    assert got == {key: _z(at) for key, at in EXPECTED_YEAR.items()}
    for d in deliveries:  # and, said the other way round: on the local day, after the send hour
        zone, birthday, since = PEOPLE[d.address]
        local = d.at.astimezone(ZoneInfo(zone) if zone else DEFAULT_ZONE)
        occasion = birthday if d.kind == "birthday" else since
        assert local.strftime("%m-%d") == occasion[-5:], d
        assert local.hour >= 9 and str(local.year) == d.occurrence, d
    assert contact_id_for("joko@example.com") not in {  # a customer since June 2028: no anniversary yet
        m.contact_id for m in SentMessage.scan() if m.kind == "anniversary"
    }


# ---------------------------------------------------------------- born on 29 February

LEAPLINGS = {
    "rome@example.com": "Europe/Rome",
    "ny@example.com": "America/New_York",
    "jkt@example.com": "Asia/Jakarta",
    "kolkata@example.com": "Asia/Kolkata",  # UTC+5:30: 09:00 falls between two runs
    "kiri@example.com": "Pacific/Kiritimati",
    "pago@example.com": "Pacific/Pago_Pago",
    "none@example.com": None,
}


def _first_run_after(instant: datetime) -> datetime:
    """The first HH:05 UTC run at or after `instant`."""
    run = instant.astimezone(UTC).replace(minute=5, second=0, microsecond=0)
    return run if run >= instant else run + HOUR


def _kept_on(year: int, policy: str) -> date:
    if year % 4 == 0:
        return date(year, 2, 29)
    return date(year, 2, 28) if policy == "feb28" else date(year, 3, 1)


@pytest.mark.parametrize("policy", ["feb28", "mar1"])
def test_29_february_birthdays_are_greeted_once_every_year_on_the_policy_day(
    stack,
    frozen_clock: FrozenClock,
    remembered_index: dict,
    monkeypatch: pytest.MonkeyPatch,
    policy: str,
) -> None:
    monkeypatch.setenv("LEAP_DAY_POLICY", policy)
    reset_settings()
    for address, zone in LEAPLINGS.items():
        add_contact(address, birthday="1996-02-29", time_zone=zone)

    player = Player(stack, frozen_clock)
    for year in (2027, 2028, 2029):  # non-leap, leap, non-leap: the days around the end of February
        player.play(_z(f"{year}-02-26T00:05:00Z"), _z(f"{year}-03-02T23:05:00Z"))
    deliveries = player.deliveries()

    got = {(d.address, d.occurrence): d.at for d in deliveries}
    assert len(got) == len(deliveries) == len(LEAPLINGS) * 3  # once a year each
    for (address, occurrence), at in got.items():
        zone = ZoneInfo(LEAPLINGS[address]) if LEAPLINGS[address] else DEFAULT_ZONE
        day = _kept_on(int(occurrence), policy)
        assert at == _first_run_after(datetime.combine(day, time(9), zone)), (address, occurrence)
        assert at.astimezone(zone).date() == day
