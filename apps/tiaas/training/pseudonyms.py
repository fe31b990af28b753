"""Stable, keyed pseudonyms for participants.

pseudonym = HMAC-SHA256(key derived from SECRET_KEY, "<per-training random salt>:<galaxy user id>").
Without the server's secret the mapping cannot be rebuilt from a list of usernames, it is stable for the whole
event (the salt is stored with the training), and different trainings give unrelated pseudonyms.
"""

from __future__ import annotations

import base64
import colorsys
from functools import lru_cache

from django.conf import settings
from django.utils.crypto import salted_hmac


def pseudonym(salt: str, user_id: int) -> tuple[str, str]:
    """(label, #rrggbb colour) for one participant."""
    return _pseudonym(settings.SECRET_KEY, salt, user_id)


# A dashboard shows the same participants on every refresh: remember their pseudonyms (keyed by the secret too,
# so a changed SECRET_KEY never serves an old one).
@lru_cache(maxsize=50_000)
def _pseudonym(secret: str, salt: str, user_id: int) -> tuple[str, str]:
    digest = salted_hmac("training.pseudonyms", f"{salt}:{user_id}", secret=secret, algorithm="sha256").digest()
    label = base64.b32encode(digest[:5]).decode("ascii").lower()
    hue = int.from_bytes(digest[5:7], "big") / 65536
    light = 0.35 + (digest[7] / 255) * 0.2
    r, g, b = colorsys.hls_to_rgb(hue, light, 0.65)
    return f"{label[:4]}-{label[4:]}", f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
