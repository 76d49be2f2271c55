"""Bastion: a Matrix homeserver that an organisation runs on its own machines."""

__version__ = "0.1.0"
