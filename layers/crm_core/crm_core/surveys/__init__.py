"""Satisfaction surveys (CSAT and NPS): definitions as data, signed score links, answers, low-score cases,
results from counters.

- `definitions`: surveys.yaml, checked whole (trigger, scale, delay, question per language, what is low).
- `invitations`: the follow-up sender asks a survey step through it (limits, links, counted once).
- `answers`: the answer page (GET shows, POST records; the last answer counts, history kept).
- `cases`: a low score opens a case, or reopens the resolved case it was about; exactly one per occasion.
- `results`: sent, answered, response rate, CSAT or NPS, distribution; by locale, team or tier.
"""
