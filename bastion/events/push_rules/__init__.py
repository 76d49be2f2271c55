"""Push rules: the server-default ruleset, a user's changes to it, and evaluating an event.

spec: client-server-api#push-rules. Pure: no I/O. The server keeps only what a user changed
(`UserPushRules`); the effective ruleset is always the current server defaults merged with those
changes, so defaults added by a later spec version reach every user without a migration.
"""
