"""Complaints by email: parse, screen, classify, route, acknowledge, thread and escalate cases."""
