"""What the SCIM service publishes about itself (RFC 7644 §4): one `ScimProvider` built from
scim2-models' own User (with the enterprise extension) and Group models.

Invariant: what is announced here is what users.py and groups.py do: PATCH yes, filters yes
(at most `MAX_RESULTS` per page), bulk, sort, ETags and password change no; one authentication
scheme, the OAuth-style bearer token `bastion scim-token create` prints.
"""

from __future__ import annotations

from typing import Any

from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    Patch,
    ResourceType,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    User,
)

MAX_RESULTS = 200

UserResource = User[EnterpriseUser]
ENTERPRISE_URN = str(EnterpriseUser.__schema__)
USER_URN = str(User.__schema__)

# IdPs send what RFC 7644 frowns on (Entra's `remove` with a value, its `members[value eq ...]`
# paths that match nothing yet); tolerated rather than refused. Unknown attributes (an IdP's
# custom mapping) are dropped, not refused: provisioning must not stall on an extra field.
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

CONFIG = ServiceProviderConfig(
    patch=Patch(supported=True),
    bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=Filter(supported=True, max_results=MAX_RESULTS),
    change_password=ChangePassword(supported=False),
    sort=Sort(supported=False),
    etag=ETag(supported=False),
    authentication_schemes=[
        AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken,
            name="Bearer token",
            description="A token made with `bastion scim-token create --name NAME` or the admin "
            "API, sent as `Authorization: Bearer <token>`",
            primary=True,
        )
    ],
)

PROVIDER = ScimProvider(
    models=[User, EnterpriseUser, Group],
    resource_types=[
        ResourceType.from_resource(UserResource),
        ResourceType.from_resource(Group),
    ],
    config=CONFIG,
    policy=POLICY,
)


def discovery_document(kind: str) -> list[Any] | Any:
    """The objects of one discovery endpoint: `schemas`, `resource_types` or `config`."""
    if kind == "schemas":
        return list(PROVIDER.schemas)
    if kind == "resource_types":
        return list(PROVIDER.resource_types)
    return PROVIDER.config
