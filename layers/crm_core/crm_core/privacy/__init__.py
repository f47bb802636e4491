"""Data rights (GDPR Articles 15, 17, 20): export and erasure of one person across every store.

`registry` lists every table and bucket and how a person's items are found in it; `jobs` records
requests and their progress; `erasure` and `export` walk the registry.
"""
