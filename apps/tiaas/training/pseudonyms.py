"""Stable, keyed pseudonyms for participants.

pseudonym = HMAC-SHA256(key derived from SECRET_KEY, "<per-training random salt>:<galaxy user id>").
Without the server's secret the mapping cannot be rebuilt from a list of usernames, it is stable for the whole
event (the salt is stored with the training), and different trainings give unrelated pseudonyms.
"""

from __future__ import annotations

import base64
import colorsys

from django.utils.crypto import salted_hmac


def _digest(salt: str, user_id: int) -> bytes:
    return salted_hmac("training.pseudonyms", f"{salt}:{user_id}", algorithm="sha256").digest()


def pseudonym(salt: str, user_id: int) -> tuple[str, str]:
    """(label, #rrggbb colour) for one participant."""
    digest = _digest(salt, user_id)
    label = base64.b32encode(digest[:5]).decode("ascii").lower()
    hue = int.from_bytes(digest[5:7], "big") / 65536
    light = 0.35 + (digest[7] / 255) * 0.2
    r, g, b = colorsys.hls_to_rgb(hue, light, 0.65)
    return f"{label[:4]}-{label[4:]}", f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
