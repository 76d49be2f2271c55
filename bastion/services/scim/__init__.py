"""SCIM 2.0 provisioning (RFC 7643/7644): identity providers create, change and offboard accounts
and push groups, whose linked rooms their members are joined to (docs/governance.md).

- `description.py`: what the service publishes (ServiceProviderConfig, ResourceTypes, Schemas);
- `resources.py`: accounts and groups as scim2-models resources, and back;
- `tokens.py`: the IdPs' bearer tokens (HMAC-stored, by name);
- `users.py`, `groups.py`: the resource operations, each audited as `scim.user.*`/`scim.group.*`;
- `group_rooms.py`: the rooms linked to a group, and joining or removing members;
- `service.py`: `ScimService`, the one object the API and other services hold.

Every change is made by a `ScimClient` actor (the token's name) and recorded in the audit log in
the change's own transaction; a refused one is recorded as failed. SCIM errors are
`scim2_models.SCIMException`s, which api/scim/ renders in RFC 7644 §3.12's shape.
"""
