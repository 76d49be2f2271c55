"""Relationships between events: edits, annotations (reactions), threads and references.

`recorder.py` is the event pipeline's hook (refusals before persisting, rows in the same
transaction); `bundles.py` adds the bundled aggregations (`unsigned["m.relations"]`) to every
page the formatter serialises; `reads.py` serves `/relations` and `/threads`.
"""
