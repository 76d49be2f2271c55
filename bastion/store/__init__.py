"""Persistence: the Database wrapper, SQL stores and migrations. No business rules here."""
