"""Background work: workers started and stopped by the serving app, and resumable jobs.

Layering: `app → workers → services → store`. Workers drive services (they hold the loop, the
services hold the logic) and never touch the API; only `app/` builds and starts them.
"""
