"""Fixtures running the real `bastion` program as subprocesses (see tests/clients/server.py)."""

from tests.clients.nio_fixtures import nio_client
from tests.clients.server import bastion_home, bastion_server
from tests.clients.sliding_sync_server import ss_home

__all__ = ["bastion_home", "bastion_server", "nio_client", "ss_home"]
