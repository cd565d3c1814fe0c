# SPDX-License-Identifier: Apache-2.0

"""The JSON thing model (measure points, events, attributes, service replies).

Mixed into :class:`libenos.Client`; see python/README.md and docs/thing-model.md.
JSON is produced with :func:`json.dumps` (NaN and infinity refused) and
checked again by libenos before anything is sent.
"""

from __future__ import annotations

import ctypes
import datetime
import json
from typing import Any, Mapping, Optional, Union

from . import _lib
from .errors import InvalidArgument, ThingRejectedError, error_class

Json = Union[Mapping[str, Any], str, bytes]
SampleTime = Union[None, int, float, datetime.datetime]


def _json_object(value: Json, what: str) -> bytes:
    """A mapping as compact JSON, or JSON text passed through (libenos checks it)."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} must be a dict (or JSON text), not {type(value).__name__}")
    try:
        return json.dumps(value, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError) as e:
        raise InvalidArgument(f"{what}: {e}", -1) from None


def _time_ms(t: SampleTime) -> int:
    """Sample time in ms since the epoch; None (0) means the time of the call."""
    if t is None:
        return 0
    if isinstance(t, datetime.datetime):
        if t.tzinfo is None:
            raise InvalidArgument("time: a naive datetime is ambiguous; give it a tzinfo", -1)
        t = t.timestamp()
    if isinstance(t, bool) or not isinstance(t, (int, float)):
        raise TypeError(f"time must be seconds since the epoch or a datetime, not {type(t).__name__}")
    ms = int(round(t * 1000))
    if ms <= 0:
        raise InvalidArgument(f"time {t!r} is not after 1970", -1)
    return ms


class ThingModelMixin:
    """Thing-model methods of :class:`libenos.Client`."""

    _lib: _lib.Library

    def _call(self, name: str, *args: Any) -> int:  # provided by Client
        raise NotImplementedError

    def _thing_check(self, rc: int) -> int:
        if rc >= 0:
            return rc
        detail = self._lib.last_error()
        enos_code = int(self._lib.fn("enos_last_reply_code")())
        if rc == _lib.ENOS_ERR_REJECTED and enos_code not in (0, 200):
            raw = self._lib.fn("enos_last_reply_message")()
            message = raw.decode("utf-8", "replace") if raw else ""
            raise ThingRejectedError(detail, rc, self._lib.strerror(rc), enos_code=enos_code, message=message)
        cls = error_class(rc)
        raise cls(detail, rc, self._lib.strerror(rc))

    def post_measurepoints(self, measurepoints: Json, time: SampleTime = None) -> Any:
        """Post measure points (thing.measurepoint.post), e.g. ``{"temp": 21.5}``.

        ``time`` is the sample time (seconds since the epoch, or an aware datetime);
        None means now (taken at this call, kept through the offline queue).
        Returns DELIVERED, or QUEUED with a state_dir when EnOS is unreachable.
        EnOS refusing the content (reply code not 200, e.g. 1204) raises
        ThingRejectedError with ``enos_code`` and ``message``."""
        from .client import DELIVERED, QUEUED
        body = _json_object(measurepoints, "measurepoints")
        rc = self._thing_check(self._call("enos_post_measurepoints", body, _time_ms(time)))
        return QUEUED if rc == _lib.ENOS_QUEUED else DELIVERED

    def post_event(self, event_id: str, events: Json, time: SampleTime = None) -> Any:
        """Post event ``event_id`` (thing.event.{event_id}.post) with its output
        parameters ``events``; otherwise as :meth:`post_measurepoints`."""
        from .client import DELIVERED, QUEUED
        if not isinstance(event_id, str):
            raise TypeError(f"event_id must be str, not {type(event_id).__name__}")
        body = _json_object(events, "events")
        rc = self._thing_check(self._call("enos_post_event", event_id.encode("utf-8"), body, _time_ms(time)))
        return QUEUED if rc == _lib.ENOS_QUEUED else DELIVERED

    def thing_request(self, method: str, params: Json) -> Any:
        """Send thing-model request ``method`` (e.g. "thing.attribute.query") with
        ``params`` and return the reply's ``data`` decoded from JSON (a dict for
        attribute queries). Never queued."""
        if not isinstance(method, str):
            raise TypeError(f"method must be str, not {type(method).__name__}")
        body = _json_object(params, "params")
        # One exchange per call (a retry would send the request again), so the
        # buffer holds the largest reply a single response can carry.
        size = _lib.ENOS_MAX_PAYLOAD + 1
        buf = ctypes.create_string_buffer(size)
        n = ctypes.c_size_t(0)
        self._thing_check(self._call("enos_thing_request", method.encode("utf-8"), body, buf, size, ctypes.byref(n)))
        return json.loads(buf.raw[:n.value].decode("utf-8"))

    def reply_result(self, command: Any, code: int = 200, data: Optional[Json] = None) -> None:
        """Answer a JSON command (e.g. a measurepoint/set service call):
        ``{"id": <the command's id>, "code": code, "data": data or {}}`` to its topic + "_reply"."""
        topic, payload = command.topic, command.payload
        if isinstance(code, bool) or not isinstance(code, int) or not -2**31 <= code < 2**31:
            raise InvalidArgument(f"code {code!r} is not an int32", -1)
        body = None if data is None else _json_object(data, "data")
        rc = self._call("enos_reply_result", topic.encode("utf-8"), payload, len(payload), code, body)
        self._thing_check(rc)
