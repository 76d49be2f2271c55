"""The media repository: uploads, downloads and thumbnails.

spec: client-server-api#content-repository. `storage.py` keeps the bytes (a local folder by
default), `service.py` decides who may store and read what, `thumbnails.py` caches the thumbnails
that `render.py` draws with Pillow, and `mxc.py` is the one place that validates media IDs.
"""
