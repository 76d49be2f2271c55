"""Relationships between events: edits, annotations (reactions), threads and references.

`recorder.py` is the event pipeline's hook (refusals before persisting, rows in the same
transaction); `reading.py` serves `/relations` and `/threads`. What a relationship is lives in
events/relation.py (pure); the bundled aggregations (`unsigned["m.relations"]`) on every page
and the cache of rooms with new relationships live in services/formatting/.
"""
