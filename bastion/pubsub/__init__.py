"""The bus: typed messages from writers (after commit) to readers, wake-ups for /sync."""
