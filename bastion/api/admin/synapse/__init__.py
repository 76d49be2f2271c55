"""Synapse's Admin API, the documented subset existing tools call (docs/admin-api.md)."""
