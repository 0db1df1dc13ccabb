"""Remove personal identifiers from a citizen's free text before it is stored anywhere.

Pure functions, no I/O. First, what would act on an operator's terminal or that a database refuses is
removed: terminal escape sequences (colours, OSC-8 links, clearing the screen) whole, then every other
control character (NUL, BEL, DEL, the C1 range), bidirectional overrides and lone surrogates. Line
breaks stay (any kind becomes ``\n``), a tab becomes a space; letters of every script, emoji and the
joiners they are built with are kept. Then what is replaced, in this order (earlier kinds win over
later ones):

- e-mail addresses → ``[email]``
- KRA PINs: A or P, nine digits, a letter (``A123456789B``, any case) → ``[kra-pin]``
- M-Pesa transaction codes: ten letters and digits starting with a letter, as the SMS shows them
  (``QFT4XY12AB``: upper case with at least one digit and three letters), or in any case when they
  hold at least three digits (``qft4xy12ab``) → ``[mpesa-code]``
- Kenyan phone numbers: ``07xx xxx xxx``, ``01xx…``, ``+2547…``, ``2547…``, ``254 7xx…``, landlines such
  as ``020 4999 999``, written with spaces, dashes or dots between any digits → ``[phone]``
- national ID numbers: a single run of 7 or 8 digits → ``[id]``

Numbers are read as runs of digit groups joined by one space, dash or dot. The longest run of groups
that spells a phone number is replaced first, so ``12345678 0712345678`` is an ID and a phone, not one
18-digit number. What is deliberately NOT read as an ID number (amounts and dates are common in
complaints about payments, and losing them makes a report useless):

- digits written in groups (``12 03 2025``, ``1 500 000``): ID numbers are written as one run;
- a run preceded by a currency word (``KES``, ``Ksh``, ``sh``, ``bob``…) or followed by ``/=``, ``bob``
  or ``shillings``: an amount;
- an 8-digit run that is a plausible date (``20250312``: a year 1990–2039, a real month and day);
- digits glued to letters (``AK1234567``, ``222222ABC``): references, not bare ID numbers;
- runs of other lengths (paybills ``222222``, PRNs of 16 digits…).
"""

from __future__ import annotations

import re
from datetime import date

__all__ = ["PLACEHOLDERS", "printable", "scrub"]

PLACEHOLDERS = ("[email]", "[kra-pin]", "[mpesa-code]", "[phone]", "[id]")

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_KRA_PIN = re.compile(r"(?<![\w])[AaPp]\d{9}[A-Za-z](?![\w])")
_CODE_CANDIDATE = re.compile(r"(?<![\w])[A-Za-z][A-Za-z0-9]{9}(?![\w])")
# Digit groups joined by single separators; "+" may open the run. Groups are split out later.
_NUMBER_RUN = re.compile(r"(?<![\w+])\+?\d+(?:[ .\-]\d+)*(?![\w])")
_GROUP = re.compile(r"\d+")
_CURRENCY_BEFORE = re.compile(r"(?i)(?:kes|kshs?|shs?|sh\.|bob|shillings?|amount|cost)\.?\s*[:=]?\s*$")
_CURRENCY_AFTER = re.compile(r"(?i)^\s*(?:/=|/-|bob\b|shillings?\b|kes\b|ksh\b)")
# ESC (or its C1 form) and what belongs to it: CSI "[…final", an OSC/DCS/APC/PM/SOS string up to its BEL
# or ST (an unended one only loses its introducer, not the rest of the text), or one more character.
_ESCAPE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[]PX^_]|[\x90\x9d\x98\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]?"
)
_LINE_BREAK = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")
# C0 but the line break, DEL, C1, bidirectional embeddings/overrides/isolates, lone surrogates.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: str) -> str:
    """The text without escape sequences and control characters (see the module docstring)."""
    text = _ESCAPE.sub("", text)
    text = _LINE_BREAK.sub("\n", text).replace("\t", " ")
    return _CONTROL.sub("", text)


def scrub(text: str) -> str:
    """The text, printable, with every phone number, ID number, e-mail, M-Pesa code and KRA PIN replaced."""
    text = _EMAIL.sub("[email]", printable(text))
    text = _KRA_PIN.sub("[kra-pin]", text)
    text = _CODE_CANDIDATE.sub(_code, text)
    return _NUMBER_RUN.sub(_numbers, text)


def _code(match: re.Match[str]) -> str:
    token = match.group()
    digits = sum(c.isdigit() for c in token)
    letters = len(token) - digits
    if token.isupper() and digits >= 1 and letters >= 3:
        return "[mpesa-code]"
    if digits >= 3 and letters >= 3:
        return "[mpesa-code]"
    return token


def _numbers(match: re.Match[str]) -> str:
    run = match.group()
    before = match.string[: match.start()]
    after = match.string[match.end():]
    groups = [(m.start(), m.end()) for m in _GROUP.finditer(run)]
    out: list[str] = []
    cursor = 0  # position in `run` up to which output is written
    i = 0
    while i < len(groups):
        for j in range(len(groups), i, -1):
            digits = "".join(run[s:e] for s, e in groups[i:j])
            kind = _kind(digits, single=j == i + 1, plus=run.startswith("+") and i == 0,
                         before=before + run[: groups[i][0]], after=run[groups[j - 1][1]:] + after)
            if kind is not None:
                start = 0 if (i == 0 and run.startswith("+")) else groups[i][0]
                out.append(run[cursor:start])
                out.append(kind)
                cursor = groups[j - 1][1]
                i = j
                break
        else:
            i += 1
    out.append(run[cursor:])
    return "".join(out)


def _kind(digits: str, *, single: bool, plus: bool, before: str, after: str) -> str | None:
    if _is_phone(digits, plus=plus):
        return "[phone]"
    if single and not plus and len(digits) in (7, 8) and not _is_amount(before, after) and not _is_date(digits):
        return "[id]"
    return None


def _is_phone(digits: str, *, plus: bool) -> bool:
    if digits.startswith("254") and len(digits) == 12:
        return digits[3] in "1234567"
    if plus:
        return False
    if digits.startswith("0") and len(digits) == 10:
        return digits[1] in "1234567"
    # The leading 0 dropped, as people do after "+254": 712 345 678.
    return len(digits) == 9 and digits[0] in "17"


def _is_amount(before: str, after: str) -> bool:
    return bool(_CURRENCY_BEFORE.search(before[-16:]) or _CURRENCY_AFTER.match(after[:16]))


def _is_date(digits: str) -> bool:
    if len(digits) != 8:
        return False
    for year, month, day in ((digits[:4], digits[4:6], digits[6:]), (digits[4:], digits[2:4], digits[:2])):
        if 1990 <= int(year) <= 2039:
            try:
                date(int(year), int(month), int(day))
            except ValueError:
                continue
            return True
    return False
