"""The input boundary: what TIaaS accepts from a request before any view, form or query sees it.

One rule for control characters, applied by :class:`ControlCharacterMiddleware` to every query parameter and every
form field of every page (the admin's included), and one parser for numbers in query strings.
"""

from __future__ import annotations

import re

from training.errors import error_page

# Unicode category Cc (C0, DEL, C1) except tab, line feed and carriage return, which text areas legitimately carry.
# Whether a field may hold line breaks at all is that field's own rule (see forms.py).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ASCII_DIGITS = re.compile(r"[0-9]+")


def fields_with_control_characters(data) -> list[str]:
    """Names of the fields of a QueryDict whose name or any value holds a control character."""
    bad = []
    for key, values in data.lists():
        if CONTROL_CHARACTERS.search(key) or any(CONTROL_CHARACTERS.search(v) for v in values if isinstance(v, str)):
            bad.append(CONTROL_CHARACTERS.sub("?", key)[:40])
    return bad


def ascii_int(text: str, max_digits: int) -> int | None:
    """``text`` as a non-negative integer when it is 1..max_digits ASCII digits, else None.

    ``str.isdigit`` and ``int`` accept other scripts' digits (and ``isdigit`` even superscripts, which ``int``
    then refuses): query parameters take ASCII only.
    """
    if 0 < len(text) <= max_digits and _ASCII_DIGITS.fullmatch(text):
        return int(text)
    return None


class ControlCharacterMiddleware:
    """Answers 400, naming the fields, when a query parameter or form field holds a control character.

    Nothing behind it (throttles, forms, the admin's searches and filters, the database) ever sees one, so no such
    character can be stored or reach a query, where PostgreSQL would refuse a NUL with an error.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        bad = fields_with_control_characters(request.GET)
        if request.method == "POST":
            bad += fields_with_control_characters(request.POST)
        if bad:
            return error_page(
                request,
                400,
                "Control characters in the request",
                f"These fields contain control characters, which TIaaS does not accept: {', '.join(sorted(set(bad)))}."
                " Nothing was saved; go back, remove them and send the form again.",
            )
        return self.get_response(request)
