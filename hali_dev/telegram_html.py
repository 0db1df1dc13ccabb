"""A strict parser for Telegram's ``parse_mode=HTML`` message markup.

It follows the state machine Telegram's servers use (tdlib's ``parse_html``): the same
supported tags, the same attribute handling and the same error wording, with byte offsets
counted in UTF-8. In strict mode (the default) it is stricter than Telegram in one respect:
a bare ``>``, a bare ``&`` and named entities other than ``&lt; &gt; &amp; &quot;`` are
errors, because Telegram shows them to the user verbatim, which is never what a bot meant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "EntityParseError",
    "parse_html",
    "strip_outer_whitespace",
    "utf16_len",
]

SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)

_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPECIAL = re.compile(r"[<>&]")
_SPACES = frozenset(" \t\r\n\v\0")
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.\-]*")
_ALPHA_RUN = re.compile(r"[A-Za-z]*")
_DEC_RUN = re.compile(r"[0-9]*")
_HEX_RUN = re.compile(r"[0-9A-Fa-f]*")
_WHITESPACE = " \t\r\n\v\f\u00a0\u2028\u2029"


class EntityParseError(ValueError):
    """The markup is malformed; ``str(error)`` is Telegram's wording after "can't parse entities: "."""


@dataclass(slots=True)
class _OpenTag:
    name: str
    argument: str
    start: int  # UTF-16 offset in the visible text


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, which is how Telegram measures text."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _byte_offset(text: str, pos: int) -> int:
    return len(text[:pos].encode("utf-8", "surrogatepass"))


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the character reference at ``text[pos] == "&"``; ``None`` if there is none.

    Like Telegram, the closing semicolon is optional.
    """
    end = pos + 1
    if text.startswith("#", end):
        end += 1
        if text.startswith("x", end):
            end += 1
            digits = _HEX_RUN.match(text, end)
            base = 16
        else:
            digits = _DEC_RUN.match(text, end)
            base = 10
        assert digits is not None
        if not digits.group() or digits.end() - pos >= 10:
            return None
        code = int(digits.group(), base)
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
        end = digits.end()
    else:
        letters = _ALPHA_RUN.match(text, end)
        assert letters is not None
        named = _NAMED_ENTITIES.get(letters.group())
        if named is None:
            return None
        char = named
        end = letters.end()
    if text.startswith(";", end):
        end += 1
    return char, end


def _entity_for(tag: _OpenTag, length: int) -> dict[str, Any] | None:
    if tag.name == "a":
        if not tag.argument:
            return None
        return {"type": "text_link", "offset": tag.start, "length": length, "url": tag.argument}
    if tag.name == "tg-emoji":
        return {
            "type": "custom_emoji",
            "offset": tag.start,
            "length": length,
            "custom_emoji_id": tag.argument,
        }
    if tag.name == "blockquote":
        kind = "expandable_blockquote" if tag.argument else "blockquote"
        return {"type": kind, "offset": tag.start, "length": length}
    entity: dict[str, Any] = {"type": _ENTITY_TYPES[tag.name], "offset": tag.start, "length": length}
    if tag.name == "code" and tag.argument:
        entity["language"] = tag.argument
    return entity


def parse_html(text: str, *, strict: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Return the visible text and its entities (UTF-16 offsets), or raise EntityParseError."""
    if _SPECIAL.search(text) is None:
        return text, []
    out: list[str] = []
    u16 = 0
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    i = 0
    while True:
        match = _SPECIAL.search(text, i)
        if match is None:
            chunk = text[i:]
            out.append(chunk)
            break
        j = match.start()
        if j > i:
            chunk = text[i:j]
            out.append(chunk)
            u16 += utf16_len(chunk)
        char = text[j]
        if char == "&":
            decoded = _decode_entity(text, j)
            if decoded is None:
                if strict:
                    word = _ALPHA_RUN.match(text, j + 1)
                    assert word is not None
                    if word.group() or text.startswith("#", j + 1):
                        end = text.find(";", j, j + 12)
                        shown = text[j : end + 1] if end != -1 else text[j : word.end() or j + 2]
                        raise EntityParseError(
                            f'Unsupported HTML entity "{shown}" at byte offset {_byte_offset(text, j)}'
                        )
                    raise EntityParseError(
                        f'Character "&" must be escaped as "&amp;" at byte offset {_byte_offset(text, j)}'
                    )
                out.append("&")
                u16 += 1
                i = j + 1
                continue
            decoded_char, i = decoded
            out.append(decoded_char)
            u16 += 2 if ord(decoded_char) > 0xFFFF else 1
            continue
        if char == ">":
            if strict:
                raise EntityParseError(
                    f'Character ">" must be escaped as "&gt;" at byte offset {_byte_offset(text, j)}'
                )
            out.append(">")
            u16 += 1
            i = j + 1
            continue
        if text.startswith("/", j + 1):
            i = _close_tag(text, j, stack, entities, u16)
        else:
            i = _open_tag(text, j, stack, u16)
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _skip_spaces(text: str, k: int, n: int) -> int:
    while k < n and text[k] in _SPACES:
        k += 1
    return k


def _open_tag(text: str, begin: int, stack: list[_OpenTag], u16: int) -> int:
    n = len(text)
    k = begin + 1
    while k < n and text[k] not in _SPACES and text[k] != ">":
        k += 1
    if k >= n:
        raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
    name = text[begin + 1 : k].lower()
    if name not in SUPPORTED_TAGS:
        raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, begin)}')
    at = _byte_offset(text, begin)
    argument = ""
    while True:
        k = _skip_spaces(text, k, n)
        if k >= n:
            raise EntityParseError(f'Unclosed start tag "{name}" at byte offset {at}')
        if text[k] == ">":
            break
        attr_begin = k
        while k < n and text[k] not in _SPACES and text[k] not in "=>":
            k += 1
        attribute = text[attr_begin:k]
        if not attribute:
            raise EntityParseError(f'Empty attribute name in the tag "{name}" at byte offset {at}')
        k = _skip_spaces(text, k, n)
        if k >= n:
            raise EntityParseError(f'Unclosed start tag "{name}" at byte offset {at}')
        if text[k] != "=":
            # Telegram documents <blockquote expandable> as the only attribute without a value.
            if name == "blockquote" and attribute == "expandable":
                argument = "1"
                continue
            raise EntityParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{name}" at byte offset {at}'
            )
        k = _skip_spaces(text, k + 1, n)
        if k >= n:
            raise EntityParseError(f'Unclosed start tag "{name}" at byte offset {at}')
        quote = text[k]
        if quote in "\"'":
            k += 1
            pieces: list[str] = []
            while k < n and text[k] != quote:
                if text[k] == "&":
                    decoded = _decode_entity(text, k)
                    if decoded is not None:
                        pieces.append(decoded[0])
                        k = decoded[1]
                        continue
                pieces.append(text[k])
                k += 1
            if k >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {at}")
            k += 1
            value = "".join(pieces)
        else:
            token = _NAME_TOKEN.match(text, k)
            assert token is not None
            value = token.group().lower()
            end = token.end()
            if end < n and text[end] not in _SPACES and text[end] != ">":
                raise EntityParseError(f"Unexpected end of name token at byte offset {_byte_offset(text, k)}")
            k = end
        if name == "a" and attribute == "href":
            argument = value
        elif name == "code" and attribute == "class" and value.startswith("language-"):
            argument = value[len("language-") :]
        elif name == "span" and attribute == "class" and value.startswith("tg-"):
            argument = value[len("tg-") :]
        elif name == "tg-emoji" and attribute == "emoji-id":
            argument = value
        elif name == "blockquote" and attribute == "expandable":
            argument = "1"
    if name == "span" and argument != "spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
    if name == "tg-emoji" and not argument.isdigit():
        raise EntityParseError(f"Invalid custom emoji identifier specified at byte offset {at}")
    stack.append(_OpenTag(name, argument, u16))
    return k + 1


def _close_tag(text: str, begin: int, stack: list[_OpenTag], entities: list[dict[str, Any]], u16: int) -> int:
    n = len(text)
    if not stack:
        raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
    k = begin + 2
    while k < n and text[k] not in _SPACES and text[k] != ">":
        k += 1
    end_name = text[begin + 2 : k]
    k = _skip_spaces(text, k, n)
    if k >= n or text[k] != ">":
        raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
    tag = stack[-1]
    if end_name and end_name.lower() != tag.name:
        raise EntityParseError(
            f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
            f'expected "</{tag.name}>", found "</{end_name}>"'
        )
    stack.pop()
    length = u16 - tag.start
    if length > 0:
        entity = _entity_for(tag, length)
        if entity is not None:
            last = entities[-1] if entities else None
            # <pre><code class="language-x">…</code></pre> becomes one pre entity with a language.
            if (
                tag.name == "pre"
                and last is not None
                and last["type"] == "code"
                and last["offset"] == tag.start
                and last["length"] == length
                and "language" in last
            ):
                entity["language"] = last["language"]
                entities.pop()
            entities.append(entity)
    return k + 1


def strip_outer_whitespace(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim whitespace at both ends like Telegram does, shifting and clipping the entities."""
    stripped = text.strip(_WHITESPACE)
    if stripped == text:
        return text, entities
    if not stripped:
        return "", []
    lead = utf16_len(text[: len(text) - len(text.lstrip(_WHITESPACE))])
    size = utf16_len(stripped)
    kept: list[dict[str, Any]] = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept
