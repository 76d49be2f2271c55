"""Numbered plain-SQL migrations; see runner.py."""
