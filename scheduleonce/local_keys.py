"""Token encryption keys for local runs.

Production passes ``TOKEN_ENCRYPTION_KEYS``. A local run keeps one generated
Fernet key in a file under ``var/`` so that stored connections survive a restart.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet


def local_token_keys(path: Path) -> list[str]:
    """Return the keys stored at ``path``, creating one key there if it is missing.

    Safe when several processes start at once: the file appears atomically and
    the first writer wins.
    """
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keys-")
        try:
            with os.fdopen(fd, "w") as handle:  # mkstemp makes it owner-only
                handle.write(Fernet.generate_key().decode() + "\n")
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]
