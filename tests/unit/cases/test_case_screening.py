"""Screening a message that could not be read: only SES's verdicts count, nothing the stand-in says."""

from __future__ import annotations

from crm_core.cases.parsing import ParsedMail
from crm_core.cases.screening import screen

OWN = ("news@example.com", "support@example.com")
PASSED = {"spam": "PASS", "virus": "PASS", "spf": "PASS", "dkim": "PASS", "dmarc": "PASS"}


def test_a_stand_in_keeps_what_ses_saw_and_why_it_was_not_read() -> None:
    mail = ParsedMail.unreadable("message too large to read", sender="ana@example.it", subject="x" * 600)

    assert (mail.sender, mail.problem, mail.readable) == (
        "ana@example.it",
        "message too large to read",
        False,
    )
    assert len(mail.subject) == 500 and mail.subject.endswith("\u2026")
    assert (mail.message_id, mail.new_text, mail.attachments) == (None, "", ())
    assert ParsedMail.unreadable("gone", sender="a@example.com", subject=None).subject == ""


def test_an_unread_message_from_our_own_address_with_an_auto_reply_subject_is_judged_by_verdicts_only() -> (
    None
):
    mail = ParsedMail.unreadable("gone", sender="support+c-7q4m2x@example.com", subject="Automatic reply")

    assert screen(mail, PASSED, "<>", OWN) == screen(mail, PASSED, "bounces@example.net", OWN)
    screened = screen(mail, PASSED, "<>", OWN)
    assert (screened.quarantine, screened.automated, screened.unverified) == (None, None, False)
    spam = screen(mail, {**PASSED, "spam": "FAIL", "dmarc": "GRAY"}, None, OWN)
    assert (spam.quarantine, spam.unverified) == ("ses verdict spam FAIL", True)
