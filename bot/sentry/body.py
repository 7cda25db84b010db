"""Reading a Sentry answer within bounds: bytes on the wire, inflated bytes, JSON depth and size.

A response body is streamed and inflated here (not by httpx, which would inflate a whole
compressed chunk at once), so a gzip bomb stops at `max_body_bytes` with `BodyTooLarge`.
Decoding never fails on what one object of a page holds: integers longer than Python's
integer-string limit become the nearest BIGINT (`bounds.json_int`), and JSON nested deeper than
the decoder's recursion limit has its too-deep parts replaced by `null` (`prune_deep`), so one
issue with 10,000-deep metadata is read like the others. Large bodies are decoded in a worker
thread so the event loop keeps answering Slack.
"""

from __future__ import annotations

import asyncio
import json
import re
import zlib
from dataclasses import dataclass
from typing import Any, Final

import httpx

from bot.sentry import bounds

# The encodings the client asks for, so it can inflate them itself (RFC 9110 §8.4.1).
ACCEPT_ENCODING: Final = "gzip, deflate"
# Nesting kept when a body is too deep for the decoder: far more than any Sentry object uses.
MAX_DEPTH: Final = 64

_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class BodyTooLarge(Exception):
    """The answer is larger than the client reads (`what`: "compressed" or "inflated")."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"{what} body over {limit} bytes")
        self.what = what
        self.limit = limit


class BodyUnreadable(Exception):
    """The answer is not JSON (or uses an encoding the client did not ask for)."""


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """`max_wire_bytes`: compressed bytes read; `max_body_bytes`: inflated bytes kept;
    `thread_above`: bodies larger than this are decoded off the event loop."""

    max_wire_bytes: int = 8 * 1024 * 1024
    max_body_bytes: int = 16 * 1024 * 1024
    thread_above: int = 256 * 1024


async def read_body(response: httpx.Response, limits: BodyLimits) -> bytes:
    """The whole inflated body of a streamed response, or `BodyTooLarge` at the first byte
    over a limit (the rest is never read)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limits.max_wire_bytes:
        raise BodyTooLarge("compressed", limits.max_wire_bytes)
    inflater = _inflater(response.headers.get("Content-Encoding", ""))
    wire = 0
    chunks: list[bytes] = []
    size = 0
    async for raw in response.aiter_raw():
        wire += len(raw)
        if wire > limits.max_wire_bytes:
            raise BodyTooLarge("compressed", limits.max_wire_bytes)
        pending = raw
        while pending:
            if inflater is None:
                piece, pending = pending, b""
            else:
                try:
                    piece = inflater.decompress(pending, limits.max_body_bytes - size + 1)
                except zlib.error as exc:
                    raise BodyUnreadable("a compressed body that does not inflate") from exc
                pending = inflater.unconsumed_tail
            size += len(piece)
            if size > limits.max_body_bytes:
                raise BodyTooLarge("inflated", limits.max_body_bytes)
            chunks.append(piece)
    return b"".join(chunks)


def _inflater(encoding: str) -> Any:
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return None
    if name in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if name == "deflate":
        return zlib.decompressobj(32 + zlib.MAX_WBITS)
    raise BodyUnreadable(f"a body in an encoding the bot did not ask for ({name[:20]})")


async def decode_json(body: bytes, limits: BodyLimits) -> Any:
    """`parse_json`, in a worker thread when the body is large."""
    if len(body) > limits.thread_above:
        return await asyncio.to_thread(parse_json, body)
    return parse_json(body)


def parse_json(body: bytes) -> Any:
    """Decode a JSON body; `BodyUnreadable` when it is not JSON at all."""
    text = body.decode("utf-8", "replace")
    try:
        return _loads(text)
    except RecursionError:
        pass
    except ValueError as exc:
        raise BodyUnreadable("a body that is not JSON") from exc
    try:
        return _loads(prune_deep(text, MAX_DEPTH))
    except (ValueError, RecursionError) as exc:
        raise BodyUnreadable("a body that is not JSON") from exc


def _loads(text: str) -> Any:
    return json.loads(text, parse_int=bounds.json_int)


def prune_deep(text: str, max_depth: int) -> str:
    """`text` with every array or object nested deeper than `max_depth` replaced by `null`.

    Scans tokens iteratively (strings are skipped whole), so it cannot itself recurse.
    """
    parts: list[str] = []
    depth = 0
    kept_until = 0
    cut_from: int | None = None
    for token in _TOKENS.finditer(text):
        mark = token.group()
        if mark[0] == '"':
            continue
        if mark in "[{":
            depth += 1
            if depth == max_depth + 1 and cut_from is None:
                cut_from = token.start()
        else:
            if depth == max_depth + 1 and cut_from is not None:
                parts.append(text[kept_until:cut_from])
                parts.append("null")
                kept_until = token.end()
                cut_from = None
            depth -= 1
    parts.append(text[kept_until:])
    return "".join(parts)
