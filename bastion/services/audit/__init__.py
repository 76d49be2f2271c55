"""The audit log: who did what to whom, when, and whether it worked; tamper-evident.

`trail.AuditTrail` writes records (in the action's own transaction), `chain` computes and checks
the hash chain, `reader.AuditReader` lists and exports it for the admin API and the console.
"""
