"""The POST body: a small JSON object sent as application/json, or a 4xx saying what was wrong.

Whatever arrives, this module answers with a value or an APIException (400, 413), never
anything that would become a 500 further down: nesting, number sizes, NaN and Infinity,
duplicate keys and lone surrogates (which no response could encode) are refused here.
Any other Content-Type gets DRF's 415 (see UNSUPPORTED_MEDIA_TYPE_HINT): a JSON-only
endpoint is never a CORS "simple" request, which a browser would send cross-site with
cached Basic credentials and no preflight.
"""

import json
import math
import re

from rest_framework import exceptions, status
from rest_framework.parsers import BaseParser

# The seven names and a few options fit in well under 1 KiB.
MAX_BODY_BYTES = 64 * 1024
# The body is an object of lists of strings: depth 2.
MAX_DEPTH = 16
# Far above any valid value, far below Python's 4300-digit conversion limit.
MAX_INTEGER_DIGITS = 100
EXAMPLE = '{"tests": ["test_1_idle_connection"]}'
UNSUPPORTED_MEDIA_TYPE_HINT = (
    "Send the body as JSON with the header Content-Type: application/json "
    "(curl: -H 'Content-Type: application/json')."
)
_SURROGATE = re.compile("[\ud800-\udfff]")


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"


class _Refused(Exception):
    """Raised from inside json.loads by the hooks below; becomes a 400."""


def shortened(text: str, limit: int = 60) -> str:
    """Submitted text for a message: a body may hold 64 KiB of it."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def shown(value) -> str:
    """A submitted value as the user wrote it (JSON), shortened."""
    return shortened(json.dumps(value))


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _Refused(
            f"it has a number with more than {MAX_INTEGER_DIGITS} digits "
            f"({text[:20]}...); no field takes such a number."
        )
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:20]} is out of range.")
    return value


def _constant(name: str):
    raise _Refused(f"{name} is not valid JSON (JSON has no NaN or Infinity).")


def _object(pairs: list[tuple[str, object]]) -> dict:
    result = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(f"the key {shown(key)} appears twice in one object; give it once.")
        result[key] = value
    return result


def _check_shape(value) -> None:
    """No nesting deeper than MAX_DEPTH, no lone surrogate in any string (iteratively)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            strings = (item,)
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise _Refused(f"it is nested more than {MAX_DEPTH} levels deep.")
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
            strings = item.keys() if isinstance(item, dict) else ()
        else:
            continue
        for text in strings:
            if _SURROGATE.search(text):
                raise _Refused(
                    "a string holds a lone surrogate (e.g. \\ud800), which is not valid "
                    "Unicode; send text as UTF-8."
                )


def parse_body(raw: bytes):
    """The JSON value of a request body; ParseError (400) or BodyTooLarge (413) otherwise."""
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLarge(
            f"The request body is larger than {MAX_BODY_BYTES} bytes; "
            f"send a small JSON object such as {EXAMPLE}."
        )
    try:
        value = json.loads(
            raw.decode("utf-8"),
            parse_int=_integer,
            parse_float=_float,
            parse_constant=_constant,
            object_pairs_hook=_object,
        )
        _check_shape(value)
    except _Refused as exc:
        raise exceptions.ParseError(f"The request body was refused: {exc}") from None
    except RecursionError:
        raise exceptions.ParseError(
            f"The request body is nested too deeply; send a JSON object such as {EXAMPLE}."
        ) from None
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise exceptions.ParseError(
            f"The request body is not valid JSON ({exc}). Send a JSON object such as "
            f"{EXAMPLE} with Content-Type: application/json."
        ) from None
    return value


class JSONBodyParser(BaseParser):
    """application/json only (any other type: DRF answers 415); limited in size and shape."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        return parse_body(stream.read(MAX_BODY_BYTES + 1))
