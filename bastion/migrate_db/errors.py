"""The one error `bastion migrate-db` reports to the operator (one `error:` line)."""


class MigrationRefused(Exception):
    """The move cannot start or did not complete; the message says why and what to do."""
