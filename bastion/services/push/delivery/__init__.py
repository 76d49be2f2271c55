"""Delivery of notifications to push gateways: what a request carries (payload.py), the HTTP
call and what its answer means (gateway.py), the background worker with its progress and
backoff (worker.py), and the after-commit wake-up (wakeup.py). See docs/subsystems/push.md."""
