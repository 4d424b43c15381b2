"""Every SQL statement the UI runs, in one place, against the store's ``spans`` and ``metrics``.

Kept apart from the server so that it can follow the store's schema (its indexes and
readers) without touching anything else.
"""
