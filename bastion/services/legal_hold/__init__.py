"""Legal hold: holds on users and rooms that retention, offboarding and redaction cannot break.

`holds.py` places, lists and releases holds (audited); `keeper.py` is the event hook that keeps
the original of a held event being redacted; `roles.py` grants the `compliance` role. What a
hold covers is decided in SQL (store/sql/holds.py, `not_held`), inside every destructive query.
"""
