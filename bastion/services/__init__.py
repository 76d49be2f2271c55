"""Business rules. No HTTP objects and no SQL strings: services talk to stores through protocols."""
