"""Accounts and groups as scim2-models resources, and what IdPs send normalised before it is
validated.

An account's SCIM `id` is its localpart (stable, unique, and what an admin recognises); its
`userName` is what the IdP sent when it created or last changed the account, else the localpart.
A `userName` becomes a localpart by lowercasing it and keeping what precedes an `@`, so an Entra
ID user principal name `Alice@contoso.com` provisions `@alice:<server>`. A manager is referred
to by the manager's SCIM id (localpart) on the wire and stored as a Matrix user ID
(`users.manager`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from scim2_models import Context, Group, Meta
from scim2_models import GroupMember as ScimGroupMember

from bastion.services.scim.description import ENTERPRISE_URN, USER_URN, UserResource
from bastion.store.protocols.scim import GroupMember, ScimAccountRow, ScimGroupRow


def localpart_of(user_id: str) -> str:
    """`@alice:example.org` → `alice`."""
    return user_id[1:].split(":", 1)[0]


def localpart_for_user_name(user_name: str) -> str:
    """The localpart a SCIM `userName` provisions: lowercased, up to any `@`."""
    return user_name.strip().split("@", 1)[0].lower()


def timestamp(ms: int) -> datetime:
    """Milliseconds since the epoch as an aware datetime (SCIM's `meta` times)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


# What Bastion owns of a User: never taken from the stored attributes.
_OWN_USER_KEYS = {"schemas", "id", "meta", "userName", "displayName", "active", "externalId",
                  "password"}  # fmt: skip


def extra_attributes(resource: UserResource) -> str:
    """The attributes of `resource` Bastion does not act on, as JSON to keep (never the
    password; the manager is stored as `users.manager`)."""
    sent = resource.model_dump(scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
    kept = {k: v for k, v in sent.items() if k not in _OWN_USER_KEYS}
    extension = kept.get(ENTERPRISE_URN)
    if isinstance(extension, dict):
        extension = {k: v for k, v in extension.items() if k not in ("manager", "schemas")}
        kept[ENTERPRISE_URN] = extension
        if not extension:
            del kept[ENTERPRISE_URN]
    return json.dumps(kept, ensure_ascii=False, sort_keys=True)


def user_resource(account: ScimAccountRow, base_url: str) -> UserResource:
    """What SCIM shows of an account: the attributes kept for the IdP, then Bastion's own."""
    localpart = localpart_of(account.user_id)
    payload: dict[str, Any] = json.loads(account.attributes)
    if account.manager is not None:
        manager_id = localpart_of(account.manager)
        extension = dict(payload.get(ENTERPRISE_URN) or {})
        extension["manager"] = {"value": manager_id, "$ref": f"{base_url}/Users/{manager_id}"}
        payload[ENTERPRISE_URN] = extension
    schemas = [USER_URN, *([ENTERPRISE_URN] if ENTERPRISE_URN in payload else [])]
    payload.update(
        schemas=schemas,
        id=localpart,
        userName=account.user_name or localpart,
        displayName=account.displayname,
        active=not account.is_deactivated,
        externalId=account.external_id,
    )
    resource = UserResource.model_validate({k: v for k, v in payload.items() if v is not None})
    resource.meta = Meta(
        resource_type="User",
        created=timestamp(account.created_ts),
        last_modified=timestamp(account.updated_ts or account.created_ts),
        location=f"{base_url}/Users/{localpart}",
    )
    return resource


def group_resource(group: ScimGroupRow, members: list[GroupMember], base_url: str) -> Group:
    """What SCIM shows of a group; members are users, by SCIM id."""
    entries = [
        ScimGroupMember.model_validate(
            {"value": (m := localpart_of(member.user_id)), "$ref": f"{base_url}/Users/{m}",
             "type": "User", "display": member.display}
        )
        for member in members
    ]  # fmt: skip
    return Group(
        id=group.group_id,
        display_name=group.display_name,
        external_id=group.external_id,
        members=entries or None,
        meta=Meta(
            resource_type="Group",
            created=timestamp(group.created_ts),
            last_modified=timestamp(group.updated_ts),
            location=f"{base_url}/Groups/{group.group_id}",
        ),
    )


def _manager_object(value: Any) -> Any:
    """Entra sends the manager as a bare id in PATCH, and without `$ref` on creation."""
    if isinstance(value, str):
        value = {"value": value}
    if isinstance(value, dict) and "$ref" not in value and isinstance(value.get("value"), str):
        value = {**value, "$ref": f"../Users/{value['value']}"}
    return value


def normalize_user_payload(body: dict[str, Any]) -> dict[str, Any]:
    """A User body with the manager in the shape scim2-models validates."""
    extension = body.get(ENTERPRISE_URN)
    if isinstance(extension, dict) and "manager" in extension:
        manager = extension["manager"]
        if manager in (None, "", {}):
            extension = {k: v for k, v in extension.items() if k != "manager"}
        else:
            extension = {**extension, "manager": _manager_object(manager)}
        body = {**body, ENTERPRISE_URN: extension}
    return body


def normalize_patch_payload(body: dict[str, Any]) -> dict[str, Any]:
    """A PatchOp body with manager values in the shape scim2-models validates."""
    operations = body.get("Operations")
    if not isinstance(operations, list):
        return body
    return {**body, "Operations": [_normalize_operation(op) for op in operations]}


def _normalize_operation(operation: Any) -> Any:
    if not isinstance(operation, dict) or "value" not in operation:
        return operation
    path, value = operation.get("path"), operation["value"]
    if isinstance(path, str) and path.lower().endswith("manager"):
        return {**operation, "value": _manager_object(value)}
    if isinstance(value, dict):
        return {**operation, "value": normalize_user_payload(value)}
    return operation
