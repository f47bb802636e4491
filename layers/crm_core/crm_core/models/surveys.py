"""Surveys: one DynamoDB table for invitations, answers (with their history) and the results counters.

Every item about a person lives in that person's partition (pk = contact id), so reading what a
contact answered is one Query and erasing it is one Query plus deletes. The counters live in their
own partitions, one per survey and grouping, one item per day and group, so results for a period
are one Query per grouping: nothing is ever scanned.

| item | pk | sk |
|---|---|---|
| invitation | `ct_...` | `invite#<survey>#<occasion>` (occasion: the order id or the case id) |
| last invitation | `ct_...` | `last-invite` (the per-contact limit: one survey per contact_gap) |
| answer (the last one counts) | `ct_...` | `answer#<survey>#<occasion>` |
| answer history | `ct_...` | `history#<survey>#<occasion>#<revision, 4 digits>` |
| counters | `stats#<survey>#<all, locale, team or tier>` | `<YYYY-MM-DD of sending>#<group>` |
"""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.connection.table import TableConnection
from pynamodb.models import Model

from crm_core.models.base import SettingsTableName, register

LAST_INVITE_SK = "last-invite"
DIMENSIONS = ("all", "locale", "team", "tier")


def invite_key(survey: str, occasion: str) -> str:
    """The sort key of the invitation to `survey` about `occasion`."""
    return f"invite#{survey}#{occasion}"


def answer_key(survey: str, occasion: str) -> str:
    """The sort key of the answer to `survey` about `occasion`."""
    return f"answer#{survey}#{occasion}"


def history_key(survey: str, occasion: str, revision: int) -> str:
    """The sort key of one earlier revision of an answer."""
    return f"history#{survey}#{occasion}#{revision:04d}"


def stats_key(survey: str, dimension: str) -> str:
    """The partition key of a survey's counters for one dimension."""
    return f"stats#{survey}#{dimension}"


@register
class SurveyInvitation(Model):
    """A survey asked (or about to be asked) of a contact about one occasion, with the groups it counts in."""

    class Meta:
        table_name = SettingsTableName("surveys_table")

    contact_id = UnicodeAttribute(hash_key=True, attr_name="pk")
    key = UnicodeAttribute(range_key=True, attr_name="sk")
    survey = UnicodeAttribute()
    occasion = UnicodeAttribute()
    status = UnicodeAttribute()  # "prepared" (link made, email not yet sent) | "sent"
    prepared_at = UnicodeAttribute()
    sent_at = UnicodeAttribute(null=True)
    day = UnicodeAttribute(null=True)  # UTC day of sending: the day its counters are kept under
    locale = UnicodeAttribute()
    team = UnicodeAttribute()  # the case's team, "none" for purchase surveys
    tier = UnicodeAttribute()  # the contact's loyalty tier when asked, "none" without one
    case_id = UnicodeAttribute(null=True)  # case-resolved surveys: the case it is about


@register
class SurveyLastInvite(Model):
    """When the contact was last sent a survey (the per-contact limit)."""

    class Meta:
        table_name = SettingsTableName("surveys_table")

    @classmethod
    def _get_connection(cls) -> TableConnection:
        return SurveyInvitation._get_connection()  # one table, one client

    contact_id = UnicodeAttribute(hash_key=True, attr_name="pk")
    key = UnicodeAttribute(range_key=True, attr_name="sk", default=LAST_INVITE_SK)
    at = UnicodeAttribute()
    survey = UnicodeAttribute()
    occasion = UnicodeAttribute()


@register
class SurveyAnswer(Model):
    """A contact's answer to one survey occasion (the last counts), or one version of it (`history#...`)."""

    class Meta:
        table_name = SettingsTableName("surveys_table")

    @classmethod
    def _get_connection(cls) -> TableConnection:
        return SurveyInvitation._get_connection()

    contact_id = UnicodeAttribute(hash_key=True, attr_name="pk")
    key = UnicodeAttribute(range_key=True, attr_name="sk")
    survey = UnicodeAttribute()
    occasion = UnicodeAttribute()
    scale = UnicodeAttribute()  # "csat" | "nps"
    score = NumberAttribute()
    comment = UnicodeAttribute(null=True)
    answered_at = UnicodeAttribute()
    revision = NumberAttribute()  # 1 for the first answer; each change adds one (optimistic lock)
    low = BooleanAttribute(default=False)
    locale = UnicodeAttribute(null=True)
    case_id = UnicodeAttribute(null=True)  # the case a low score opened or reopened


@register
class SurveyStats(Model):
    """Counters of one survey, one day of sending and one group: sent, answered, answers per score."""

    class Meta:
        table_name = SettingsTableName("surveys_table")

    @classmethod
    def _get_connection(cls) -> TableConnection:
        return SurveyInvitation._get_connection()

    key = UnicodeAttribute(hash_key=True, attr_name="pk")  # "stats#<survey>#<dimension>"
    day_group = UnicodeAttribute(range_key=True, attr_name="sk")  # "<YYYY-MM-DD>#<group>"
    sent = NumberAttribute(default=0)
    answered = NumberAttribute(default=0)
    s0 = NumberAttribute(null=True)
    s1 = NumberAttribute(null=True)
    s2 = NumberAttribute(null=True)
    s3 = NumberAttribute(null=True)
    s4 = NumberAttribute(null=True)
    s5 = NumberAttribute(null=True)
    s6 = NumberAttribute(null=True)
    s7 = NumberAttribute(null=True)
    s8 = NumberAttribute(null=True)
    s9 = NumberAttribute(null=True)
    s10 = NumberAttribute(null=True)

    def score_counts(self) -> dict[int, int]:
        """How many answers gave each score (scores nobody gave left out)."""
        return {n: int(getattr(self, f"s{n}") or 0) for n in range(11) if getattr(self, f"s{n}")}
