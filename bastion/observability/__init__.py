"""Observability: logs (plain or JSON lines, each carrying the request ID of the request it
belongs to), request IDs, and Prometheus metrics (multiprocess-aware): docs/operations.md.

Nothing here imports the layers above (api, services, store): every layer may report through it.
"""

from bastion.observability.logs import setup_logging
from bastion.observability.request_id import current_request_id

__all__ = ["current_request_id", "setup_logging"]
