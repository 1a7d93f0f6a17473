"""Stores one variable in a `.env` file the way `meltano config set --store=dotenv` does.

The line becomes `NAME='value'` (python-dotenv's `set_key` quoting, which Meltano uses), any
earlier line for NAME is replaced, every other line is kept as it was. The file is rewritten
through a temporary file in the same folder and renamed over the old one, so a crash leaves
either the old or the new file; a new file is readable by its owner only.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
# Values written unquoted-safe: tokens are URL-safe; refuse anything a quote would break.
_SAFE_VALUE = re.compile(r"[^'\n\r]*")


def set_variable(path: Path, name: str, value: str) -> None:
    """Set `name` to `value` in the dotenv file at `path` (created when missing)."""
    if not _SAFE_VALUE.fullmatch(value):
        msg = f"{name}'s value contains a quote or line break and cannot be stored in {path}."
        raise ValueError(msg)
    line = f"{name}='{value}'\n"
    pattern = re.compile(rf"^\s*(export\s+)?{re.escape(name)}\s*=")
    try:
        old = path.read_text(encoding="utf-8").splitlines(keepends=True)
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        old, mode = [], PRIVATE_FILE_MODE
    kept = [existing for existing in old if not pattern.match(existing)]
    if kept and not kept[-1].endswith("\n"):
        kept[-1] += "\n"
    replaced = len(kept) != len(old)
    if replaced:
        index = next(i for i, existing in enumerate(old) if pattern.match(existing))
        lines = [*kept[:index], line, *kept[index:]]
    else:
        lines = [*kept, line]
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".env.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.writelines(lines)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
