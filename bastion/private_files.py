"""Files and folders only the server's own user may read: what holds messages and media.

The config file is written 0600 by `bastion init`; the data it protects must not be more open.
New folders for data are created 0700 (every missing level, not only the last one, which is all
`Path.mkdir(parents=True, mode=...)` would do), new data files 0600. Folders that already exist
are left as they are (an operator may have chosen their modes); files that exist are tightened.
The modes are passed at creation, so there is no moment where a file is readable by others.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def make_private_folder(path: Path) -> None:
    """Create `path` and its missing parents, each 0700; existing folders are not changed."""
    missing: list[Path] = []
    while not path.exists():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=FOLDER_MODE, exist_ok=True)


def create_private_file(path: Path) -> int:
    """Create `path` (which must not exist) 0600 for writing; returns the file descriptor."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)


def make_file_private(path: Path) -> None:
    """Create `path` empty with mode 0600 if missing, else take group and other access away."""
    try:
        os.close(create_private_file(path))
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(FILE_MODE)
