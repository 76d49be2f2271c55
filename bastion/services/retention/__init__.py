"""Retention (MSC1763 semantics): the effective policy of a room, hiding and purging by it.

`policy.py` computes a room's effective lifetime (the ONE function both the read door and the
purge use); `purge.py` deletes what has expired (docs/compliance.md).
"""
