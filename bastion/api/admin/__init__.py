"""The admin API, two faces over one service layer.

- `/_synapse/admin/...` (`synapse/`): the subset of Synapse's documented Admin API that
  existing tools call (synapse-admin and its forks, scripts, Ansible roles), with Synapse's paths,
  parameters and field names (docs/admin-api.md has the table);
- `/_bastion/admin/v1/...` (`own/`): what Synapse lacks (governance, policy, audit),
  described by `own/openapi.json`, served at `/_bastion/admin/v1/openapi.json`.

`routes.py` assembles both; each module lists its `ROUTES` with paths relative to its prefix.

Every route authenticates with the admin's ordinary access token (`guard.require_admin`), except
Synapse's `v1/server_version`, which the web UIs call before login. The handlers parse and shape
JSON only; the services do the work, check admin power again and write the audit records.
"""
