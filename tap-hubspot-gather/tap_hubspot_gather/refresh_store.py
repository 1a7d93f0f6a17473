"""Where the OAuth refresh token lives: the `.env` file `connect` writes and the tap updates.

`connect` stores the refresh token in the Meltano project's `.env` as
`TAP_HUBSPOT_GATHER_REFRESH_TOKEN`; Meltano passes it to the tap. When HubSpot answers a
refresh with a new refresh token, the tap writes it back to that same file
(`RefreshTokenStore.find`: the `.env` whose value is exactly the configured token), so the
next run starts with the token HubSpot now expects.

`set_variable` stores one variable the way `meltano config set --store=dotenv` does: the line
becomes `NAME='value'` (python-dotenv's `set_key` quoting, which Meltano uses), any earlier
line for NAME is replaced, every other line is kept as it was. The file is rewritten through a
temporary file in the same folder and renamed over the old one, so a crash leaves either the
old or the new file; the file is then readable by its owner only (0600): it holds a secret.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values, find_dotenv

PRIVATE_FILE_MODE = 0o600
REFRESH_TOKEN_VARIABLE = "TAP_HUBSPOT_GATHER_REFRESH_TOKEN"  # noqa: S105 (a variable name)
# Meltano runs plugins with this set to the project folder, whose `.env` it reads.
PROJECT_ROOT_VARIABLE = "MELTANO_PROJECT_ROOT"
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
    except FileNotFoundError:
        old = []
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
        os.chmod(temporary, PRIVATE_FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class RefreshTokenStore:
    """A `.env` file holding the refresh token the tap runs with, which the tap may update."""

    path: Path
    variable: str = REFRESH_TOKEN_VARIABLE

    def save(self, refresh_token: str) -> None:
        """Replace the stored token (atomic rename; a new file is private to its owner)."""
        set_variable(self.path, self.variable, refresh_token)

    @classmethod
    def find(
        cls, refresh_token: str, environ: Mapping[str, str] | None = None
    ) -> RefreshTokenStore | None:
        """The `.env` that holds exactly `refresh_token`: the Meltano project's (where
        `connect` writes it), else the nearest one from the working directory; None when the
        token came from elsewhere (meltano.yml, a config file) and cannot be updated."""
        env = os.environ if environ is None else environ
        candidates: list[Path] = []
        if root := env.get(PROJECT_ROOT_VARIABLE):
            candidates.append(Path(root) / ".env")
        if nearest := find_dotenv(usecwd=True):
            candidates.append(Path(nearest))
        for candidate in dict.fromkeys(p.resolve() for p in candidates):
            if not candidate.is_file():
                continue
            if dotenv_values(candidate).get(REFRESH_TOKEN_VARIABLE) == refresh_token:
                return cls(candidate)
        return None
