"""Leads from web forms: parse what forms send, validate, and record or merge the contact.

parsing (content types, size) -> validation (a Lead, every field error at once) -> service
(one conditional write) -> web (the HTTP answers). The CSV import goes through the same steps.
"""
