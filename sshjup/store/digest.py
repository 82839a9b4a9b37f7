"""SHA-256 without loading OpenSSL: ``import hashlib`` costs every ``sshjup add`` about 2 ms
(its OpenSSL module), and sshjup hashes only a few small texts (the section, a path).

Python's own implementation gives the same digests; ``hashlib`` is the fallback where an
interpreter was built without it.
"""

from __future__ import annotations

from collections.abc import Callable

TYPE_CHECKING = False  # (typing's costs `sshjup add` ~4 ms to import; mypy takes it as True)
if TYPE_CHECKING:
    import hashlib

_impl: Callable[[bytes], hashlib._Hash]
try:
    from _sha2 import sha256 as _impl  # type: ignore[import-not-found,no-redef,unused-ignore]
except ImportError:  # (before Python 3.12)
    try:
        from _sha256 import sha256 as _impl  # type: ignore[import-not-found,no-redef,unused-ignore]
    except ImportError:  # pragma: no cover - a build without it
        from hashlib import sha256 as _impl  # type: ignore[no-redef,unused-ignore]


def sha256(data: bytes = b"") -> hashlib._Hash:
    """``hashlib.sha256(data)``."""
    return _impl(data)


__all__ = ["sha256"]
