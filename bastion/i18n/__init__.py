"""The languages Bastion speaks to people in a browser (English, Arabic, Polish), shared by the
admin console and the single sign-on pages, which are independent layers and so cannot borrow
from each other: choosing a request's language, compiling a gettext catalog, and the Jinja2
environment that renders with it (`languages.py`); finding untranslated strings (`catalogs.py`).
"""
