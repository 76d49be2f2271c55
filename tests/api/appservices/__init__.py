"""Application services: identity, registration, transactions, queries, ping."""
