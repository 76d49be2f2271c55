"""The admin API's logic, shared by both faces (Synapse-compatible and Bastion's own).

Every method takes the acting `Principal` first and calls `require_admin()` before reading or
changing anything; every change is audited in its own transaction (services/audit/trail.py),
and a refused or failed change is audited as failed by `AuditTrail.attempt`.
"""
