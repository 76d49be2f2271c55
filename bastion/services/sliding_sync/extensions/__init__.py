"""The sliding-sync extensions (to_device, e2ee, account_data, receipts, typing)."""
