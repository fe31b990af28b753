"""Decode Galaxy's ``galaxysession`` cookie exactly as Galaxy does, without importing Galaxy.

Galaxy (``galaxy.security.idencoding.IdEncodingHelper.encode_guid``) left-pads the session key with ``!`` to a
multiple of 8 bytes, encrypts it with Blowfish in ECB mode keyed by its ``id_secret`` and hex-encodes the result.
"""

from __future__ import annotations

import binascii
import re

from Crypto.Cipher import Blowfish

# A real cookie is 80 hex characters (32-character key + 8 pad bytes); allow some slack, refuse anything huge.
_COOKIE_RE = re.compile(r"\A(?:[0-9a-fA-F]{16}){1,16}\Z")
_SESSION_KEY_RE = re.compile(r"\A[0-9a-f]{1,120}\Z")


class BadCookie(ValueError):
    """The cookie is not something Galaxy's encoder could have produced with this id_secret."""


class SessionCookieDecoder:
    def __init__(self, id_secret: str) -> None:
        key = id_secret.encode("utf-8")
        if not 4 <= len(key) <= 56:
            raise ValueError("Galaxy's id_secret must be 4 to 56 bytes long (a Blowfish key)")
        self._key = key

    def decode(self, cookie: str) -> str:
        """Return the session key, or raise :class:`BadCookie`."""
        if not isinstance(cookie, str) or not _COOKIE_RE.match(cookie):
            raise BadCookie("not a hex string of whole Blowfish blocks")
        try:
            # Blowfish/ECB is Galaxy's format, not our choice; we only read it.
            cipher = Blowfish.new(self._key, Blowfish.MODE_ECB)  # noqa: S304
            plain = cipher.decrypt(binascii.unhexlify(cookie))
            text = plain.decode("ascii")
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadCookie("does not decrypt to text") from exc
        key = text.lstrip("!")
        if not _SESSION_KEY_RE.match(key):
            raise BadCookie("does not decrypt to a session key")
        return key
