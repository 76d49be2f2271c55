"""The SSO pages' catalog sources: their templates and modules, and the services whose words
they show (refusals, services/sso/; the actions a UIA session guards, services/uia.py). For the
completeness test and for translators (`python -m bastion.api.sso.catalogs ar` prints the
missing entries as .po stubs)."""

from __future__ import annotations

import sys
from pathlib import Path

from bastion.api.sso.pages import TRANSLATIONS_DIR
from bastion.i18n import catalogs
from bastion.i18n.catalogs import JINJA2, CatalogSources

SSO_SOURCES = CatalogSources(
    root=Path(__file__).parents[2],  # bastion/
    translations_dir=TRANSLATIONS_DIR,
    method_map=[
        ("api/sso/templates/**.html", JINJA2),
        ("api/sso/**.py", "python"),
        ("services/sso/**.py", "python"),
        ("services/uia.py", "python"),
    ],
)

if __name__ == "__main__":
    catalogs.print_stubs(SSO_SOURCES, sys.argv[1:])
