"""Simplified Sliding Sync (MSC4186): connections, lists, rooms, extensions, endpoints."""
