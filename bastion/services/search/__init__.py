"""Server-side search over room events.

`normalize.py` defines a search token (one definition for indexing and querying), `query.py`
turns a search term into phrases and picks highlights, `indexer.py` keeps the index in step with
the event pipeline, `service.py` answers `POST /search` through the visibility chokepoint, and
`request.py` holds the request and response shapes.
"""
