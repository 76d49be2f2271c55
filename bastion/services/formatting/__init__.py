"""What a client receives for a stored event, shared by every read path.

`formatter.py` serialises events (redactions applied); `bundles.py` adds the bundled
aggregations (`unsigned["m.relations"]`) per page; `changes.py` remembers which rooms gained
relationships so pages without any cost no query. Sync, search, push notifications, room reads
and relations reads all depend on this package; it depends on none of them (no cycle).
"""
