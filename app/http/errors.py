"""Matrix errors as exceptions: raise one anywhere below a handler, the middleware answers it."""

from __future__ import annotations

from typing import Any


class MatrixError(Exception):
    """An error response: HTTP ``status`` with ``{"errcode", "error", **extra}``."""

    def __init__(self, status: int, errcode: str, error: str, **extra: Any) -> None:
        super().__init__(f"{status} {errcode}: {error}")
        self.status = status
        self.errcode = errcode
        self.error = error
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"errcode": self.errcode, "error": self.error, **self.extra}


def bad_json(error: str) -> MatrixError:
    return MatrixError(400, "M_BAD_JSON", error)


def invalid_param(error: str) -> MatrixError:
    return MatrixError(400, "M_INVALID_PARAM", error)


def forbidden(error: str) -> MatrixError:
    return MatrixError(403, "M_FORBIDDEN", error)


def not_found(error: str) -> MatrixError:
    return MatrixError(404, "M_NOT_FOUND", error)


def missing_param(error: str) -> MatrixError:
    return MatrixError(400, "M_MISSING_PARAM", error)


def too_large(error: str) -> MatrixError:
    return MatrixError(413, "M_TOO_LARGE", error)


def limit_exceeded(retry_after_ms: int) -> MatrixError:
    return MatrixError(
        429, "M_LIMIT_EXCEEDED", "Too many requests", retry_after_ms=int(retry_after_ms)
    )


def unrecognized(status: int = 404) -> MatrixError:
    return MatrixError(status, "M_UNRECOGNIZED", "Unrecognized request")
