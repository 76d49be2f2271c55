"""Pure Matrix logic: event format, hashes, signatures, redaction, power levels, auth rules,
history visibility. No I/O, and no imports from api, services or store."""
