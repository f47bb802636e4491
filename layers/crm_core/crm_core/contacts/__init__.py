"""Contacts across every entry point: who a person is (identity)."""
