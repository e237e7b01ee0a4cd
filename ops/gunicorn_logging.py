"""gunicorn's access log with the secrets of addresses scrubbed (``ops.logging.redact_access``).

A password reset link, a booking's manage link or an invitation is a key in its own
address, and gunicorn writes the request line and the referer of every request. Used by
the Dockerfile and docker-compose.yml: ``--logger-class ops.gunicorn_logging.RedactingLogger``.
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from ops.logging import redact_access


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time) -> dict:
        """Every text a format may name, scrubbed: the request line, path, query and
        referer, and the same again as request headers and environ variables."""
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact_access(v) if isinstance(v, str) else v for key, v in atoms.items()}
