"""Console page: the organisation policy document as a form, its DLP policies, "try a text".

What stays true:
- Saving sends the WHOLE document with the version the form was read at (`expected_version`):
  the form's fields are laid over the document in force, and `PolicyService.replace` refuses
  with 409 M_STALE_VERSION when another admin saved meanwhile (then nothing is saved and the
  page says so, keeping what was typed). Adding or removing a DLP policy does the same.
- Validation is the service's (`parse_policy`); this module only turns form text into JSON
  values (a number that is not one is reported next to the form, nothing is sent). Lifetimes
  are edited in days and stored in milliseconds, as the document keeps them.
- "Try a text" calls `DlpAdmin.test`: the text is neither stored nor audited.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, get_args

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.console.errors import error_message
from bastion.console.pages import (
    ROOT,
    flash,
    form_text,
    read_form,
    redirect,
    render,
    require_session,
    services_of,
)
from bastion.errors import Errcode, MatrixError
from bastion.i18n.languages import N_
from bastion.services.policy.dlp_section import BuiltinDetector, DlpAction
from bastion.services.policy.document import policy_json

DAY_MS = 86_400_000
BUILTIN_DETECTORS = get_args(BuiltinDetector)
ACTIONS = get_args(DlpAction)
LANGUAGES = ("en", "ar", "pl")
_LIFETIMES = (
    ("default_max_lifetime_ms", "retention_default_days"),
    ("allowed_min_lifetime_ms", "retention_min_days"),
    ("allowed_max_lifetime_ms", "retention_max_days"),
)
_SEPARATORS = re.compile(r"[\s,]+")
STALE = N_(
    "Someone else changed the policy since you opened this page, so nothing was saved. Reload "
    "the page to see the policy in force, then make your change again."
)
NOT_A_NUMBER = N_("Enter a number.")
Builder = Callable[[dict[str, Any], FormData], dict[str, Any]]


class FormProblem(Exception):
    """A form field that is not a value of its kind (`field` names it)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _whole(form: FormData, name: str, *, optional: bool) -> int | None:
    text = form_text(form, name)
    if not text and optional:
        return None
    if not text.isascii() or not text.isdigit():
        raise FormProblem(name)
    return int(text)


def _days_to_ms(form: FormData, name: str) -> int | None:
    text = form_text(form, name)
    if not text:
        return None
    try:
        days = float(text)
    except ValueError:
        raise FormProblem(name) from None
    if not math.isfinite(days):
        raise FormProblem(name)
    return round(days * DAY_MS)


def days_of(ms: int | None) -> str:
    """A lifetime in ms as the form shows it in days ("" for none)."""
    if ms is None:
        return ""
    # repr: the shortest text that reads back as the same float, so an unchanged field saves
    # the same milliseconds (a rounded "1.4289" would silently move a lifetime set by the API).
    return str(ms // DAY_MS) if ms % DAY_MS == 0 else repr(ms / DAY_MS)


def _words(text: str) -> list[str]:
    return [w for w in _SEPARATORS.split(text) if w]


def _from_form(document: dict[str, Any], form: FormData) -> dict[str, Any]:
    """`document` with the main form's fields laid over it (its `dlp` section unchanged)."""
    creation = form_text(form, "creation")
    if creation == "group":
        creation = f"group:{form_text(form, 'creation_group')}"
    rooms = {
        **document["rooms"],
        "max_admins": _whole(form, "max_admins", optional=True),
        "creation": creation,
        "encryption": form_text(form, "encryption"),
        "fallback_admin": form_text(form, "fallback_admin") or None,
        "moderator": form_text(form, "moderator") or None,
    }
    retention = dict(document["retention"])
    for key, field in _LIFETIMES:
        retention[key] = _days_to_ms(form, field)
    retention["purge_interval_s"] = _whole(form, "purge_interval_s", optional=False)
    retention["redacted_content_days"] = _whole(form, "redacted_content_days", optional=False)
    acceptable_use = {lang: form_text(form, f"aup_{lang}") or None for lang in LANGUAGES}
    return {
        **document,
        "rooms": rooms,
        "retention": retention,
        "acceptable_use": acceptable_use,
    }


def _new_dlp_policy(form: FormData) -> dict[str, Any]:
    detectors: list[Any] = [d for d in form.getlist("detectors") if d in BUILTIN_DETECTORS]
    if words := _words(form_text(form, "keywords").replace("\n", ",")):
        detectors.append({"type": "keywords", "words": words})
    if pattern := form_text(form, "regex"):
        detectors.append({"type": "regex", "pattern": pattern})
    return {
        "name": form_text(form, "name"),
        "detectors": detectors,
        "action": form_text(form, "action"),
        "scope": {
            key: _words(form_text(form, f"scope_{key}")) for key in ("rooms", "users", "groups")
        },
    }


def _render(
    request: Request,
    document: dict[str, Any],
    version: int,
    *,
    status: int = 200,
    **context: Any,
) -> Response:
    """The policy page; `context` may add `error` (a msgid), `detail` (the service's words),
    `error_field` (the form field at fault), `test` and `test_text` (the tester's answer)."""
    return render(
        request,
        "policy/policy.html",
        status=status,
        doc=document,
        version=version,
        days_of=days_of,
        builtin_detectors=BUILTIN_DETECTORS,
        actions=ACTIONS,
        **{"error": None, "detail": "", "error_field": None, "test": None, "test_text": "",
           **context},
    )  # fmt: skip


async def show(request: Request) -> Response:
    """GET /admin/policy"""
    session = await require_session(request)
    version, document = await services_of(request).policy.get(session.requester)
    return _render(request, policy_json(document), version)


async def _save(request: Request, form: FormData, change: str, build: Builder) -> Response:
    """Lay the change over the document in force and send it with the form's version."""
    session = await require_session(request)
    policy = services_of(request).policy
    document = policy_json((await policy.get(session.requester))[1])
    read_at = 0
    try:
        read_at = _whole(form, "version", optional=False) or 0
        document = build(document, form)
        await policy.replace(session.requester, document, expected_version=read_at)
    except FormProblem as problem:
        return _render(request, document, read_at, status=400, error=NOT_A_NUMBER,
                       error_field=problem.field)  # fmt: skip
    except MatrixError as exc:
        if exc.errcode == Errcode.STALE_VERSION:
            return _render(request, document, read_at, status=409, error=STALE, detail=exc.message)
        return _render(request, document, read_at, status=exc.status, error=error_message(exc),
                       detail=exc.message)  # fmt: skip
    flash(request, change)
    return redirect(f"{ROOT}/policy")


async def save(request: Request) -> Response:
    """POST /admin/policy: the main form (rooms, retention, acceptable use)"""
    form = await read_form(request)
    return await _save(request, form, N_("The policy was saved."), _from_form)


def _with_policy(document: dict[str, Any], form: FormData) -> dict[str, Any]:
    dlp = document["dlp"]
    return {**document, "dlp": {**dlp, "policies": [*dlp["policies"], _new_dlp_policy(form)]}}


def _without_policy(document: dict[str, Any], form: FormData) -> dict[str, Any]:
    dlp = document["dlp"]
    name = form_text(form, "name")
    kept = [p for p in dlp["policies"] if p["name"] != name]
    return {**document, "dlp": {**dlp, "policies": kept}}


async def add_dlp(request: Request) -> Response:
    """POST /admin/policy/dlp/add (name, detectors, keywords, regex, action, scope_*)"""
    form = await read_form(request)
    return await _save(request, form, N_("The DLP policy was added."), _with_policy)


async def confirm_remove_dlp(request: Request) -> Response:
    """GET /admin/policy/dlp/remove?name=: what removing the DLP policy does"""
    session = await require_session(request)
    version, document = await services_of(request).policy.get(session.requester)
    name = request.query_params.get("name", "")
    found = next((p for p in policy_json(document)["dlp"]["policies"] if p["name"] == name), None)
    if found is None:
        raise MatrixError(404, Errcode.NOT_FOUND, f"no DLP policy {name!r}")
    return render(request, "policy/confirm_remove.html", dlp_policy=found, version=version)


async def remove_dlp(request: Request) -> Response:
    """POST /admin/policy/dlp/remove (name, version)"""
    form = await read_form(request)
    return await _save(request, form, N_("The DLP policy was removed."), _without_policy)


async def try_text(request: Request) -> Response:
    """POST /admin/policy/dlp/test (text): what each detector and policy finds"""
    session = await require_session(request)
    form = await read_form(request)
    services = services_of(request)
    text = form.get("text")
    text = text if isinstance(text, str) else ""
    version, document = await services.policy.get(session.requester)
    result = await services.dlp.test(session.requester, text)
    return _render(request, policy_json(document), version, test=result, test_text=text)


ROUTES = [
    Route("/policy", show, methods=["GET"], name="console_policy"),
    Route("/policy", save, methods=["POST"]),
    Route("/policy/dlp/add", add_dlp, methods=["POST"]),
    Route("/policy/dlp/remove", confirm_remove_dlp, methods=["GET"]),
    Route("/policy/dlp/remove", remove_dlp, methods=["POST"]),
    Route("/policy/dlp/test", try_text, methods=["POST"]),
]
