"""Simplified Sliding Sync (MSC4186), what Element X speaks: docs/subsystems/sliding-sync.md."""
