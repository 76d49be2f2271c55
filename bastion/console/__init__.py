"""The admin console at /admin: server-rendered pages over the same services as the admin API.

What stays true (docs/console.md):
- A page parses the request, calls service methods as the signed-in admin's console device
  (`ConsoleSession.requester`) and renders a template; it holds no rule of its own, never
  queries the store and never calls our HTTP API.
- Every page except sign-in needs a session (`pages.require_session`); every POST carries the
  session's CSRF token (`pages.read_form`); every destructive action has a GET confirmation page.
- Every response carries the strict CSP of `headers.py`: no inline script or style anywhere.
- Every visible string is translated (en, ar, pl catalogs, `i18n.py`); names, IDs and numbers
  inside translated text are wrapped in `<bdi>`.
"""
