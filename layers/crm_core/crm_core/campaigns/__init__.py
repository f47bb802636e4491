"""Campaigns: sequences of messages a contact is enrolled in."""
