# SPDX-License-Identifier: Apache-2.0

"""The libenos client, signatures and logging (ctypes binding of include/enos.h)."""

from __future__ import annotations

import asyncio
import atexit
import ctypes
import dataclasses
import enum
import logging
import os
import re
import threading
import time
import weakref
from typing import Any, AsyncIterator, Callable, Iterator, NamedTuple, Optional, Union

from . import _async, _lib
from ._lib import (ENOS_AUTH_SIGN_SIZE, ENOS_ERR_BUFFER, ENOS_ERR_CLOSED, ENOS_ERR_REJECTED,
                   ENOS_ERR_TIMEOUT, ENOS_MAX_PAYLOAD, ENOS_QUEUED, ENOS_SECURITY_DTLS, ENOS_SECURITY_NONE,
                   ENOS_SIGN_SIZE)
from .errors import (BufferTooSmall, EnosTimeoutError, InvalidArgument, RejectedError, coap_code_str,
                     error_class)
from .thing import ThingModelMixin

__all__ = [
    "Client", "Command", "Reply", "Stats", "NextSign", "Delivery", "DELIVERED", "QUEUED",
    "SignMode", "sign", "auth_sign", "version", "library_path", "set_log_handler",
    "LOG_OFF", "LOG_ERROR", "LOG_WARN", "LOG_INFO", "LOG_DEBUG",
]

#: Text arguments: str is encoded as UTF-8; bytes-like objects are used as they are.
Text = Union[str, bytes]
#: Binary arguments: bytes-like objects as they are; str is encoded as UTF-8.
Data = Union[bytes, bytearray, memoryview, str]
PathLike = Union[str, bytes, "os.PathLike[str]"]

_log = logging.getLogger("libenos")

LOG_OFF = 0
LOG_ERROR = 1
LOG_WARN = 2
LOG_INFO = 3
LOG_DEBUG = 4

_PY_LEVELS = {LOG_ERROR: logging.ERROR, LOG_WARN: logging.WARNING, LOG_INFO: logging.INFO,
              LOG_DEBUG: logging.DEBUG}

# Longest single wait inside the library, so that Ctrl-C (KeyboardInterrupt) is
# seen between slices of a long wait (flush, next_command).
_WAIT_SLICE = 0.5

# First buffers of next_command(); grown on ENOS_ERR_BUFFER.
_FIRST_TOPIC_SIZE = 256
_FIRST_PAYLOAD_SIZE = 1024


class SignMode(enum.IntEnum):
    """When requests carry option 2101 (enos_config.sign_mode)."""

    AUTO = 0
    ALWAYS = 1
    NEVER = 2


class Delivery(enum.Enum):
    """What :meth:`Client.report` did with a report."""

    DELIVERED = "delivered"  #: EnOS acknowledged it with 2.xx
    QUEUED = "queued"        #: stored in the offline queue (state_dir), delivered later in order


DELIVERED = Delivery.DELIVERED
QUEUED = Delivery.QUEUED


@dataclasses.dataclass(frozen=True)
class Reply:
    """EnOS's answer to :meth:`Client.publish`."""

    code: int          #: CoAP response code, class << 5 | detail (68 for 2.04)
    code_str: str      #: the same as text, "2.04"
    payload: bytes     #: reply payload (binary)
    truncated: bool = False  #: True if the reply was longer than 64 KiB and was cut

    @property
    def ok(self) -> bool:
        """True for a 2.xx answer."""
        return (self.code >> 5) == 2


@dataclasses.dataclass(frozen=True)
class Command:
    """A command from EnOS. ``topic`` is the MQTT topic without the CoAP
    ``/topic`` prefix, e.g. ``/sys/PK/DK/thing/model/down_raw``; pass it (or the
    Command itself) to :meth:`Client.reply`."""

    topic: str
    payload: bytes


class NextSign(NamedTuple):
    """Result of :meth:`Client.next_sign`."""

    signature: str  #: upper-case hex, the value of option 2101
    sequence: int   #: the sequence it carries


@dataclasses.dataclass(frozen=True)
class Stats:
    """Counters of one client since it was created (enos_stats)."""

    sent: int
    failed: int
    retransmissions: int
    auths: int
    reauths: int
    queued: int
    queued_bytes: int
    queued_total: int
    queue_delivered: int
    queue_dropped: int
    commands: int
    commands_dropped: int
    state_errors: int


CommandHandler = Callable[[Command], Any]
LogHandler = Callable[[int, str], Any]


# --------------------------------------------------------------------------
# helpers

def _security(value: Union[str, int, None], dtls: bool) -> int:
    if value is None:
        return ENOS_SECURITY_DTLS if dtls else ENOS_SECURITY_NONE
    names = {"none": ENOS_SECURITY_NONE, "dtls": ENOS_SECURITY_DTLS}
    if isinstance(value, str):
        if value.lower() not in names:
            raise ValueError(f"security must be 'none' or 'dtls', not {value!r}")
        v = names[value.lower()]
    elif isinstance(value, int) and not isinstance(value, bool):
        v = value
    else:
        raise TypeError(f"security must be str or int, not {type(value).__name__}")
    if dtls and v != ENOS_SECURITY_DTLS:
        raise ValueError("dtls=True contradicts security=" + repr(value))
    return v


def _text(value: Text, what: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")


def _data(value: Optional[Data], what: str) -> bytes:
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be bytes-like or str, not {type(value).__name__}")


def _ms(seconds: Optional[float], what: str, none: int) -> int:
    """Seconds (float) to an int32 of milliseconds; None gives ``none``."""
    if seconds is None:
        return none
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{what} must be a number of seconds, not {type(seconds).__name__}")
    if seconds < 0:
        raise InvalidArgument(f"{what} must not be negative", -1)
    return min(int(round(seconds * 1000)), 2**31 - 1)


def _raise(lib: _lib.Library, rc: int, **extra: Any) -> None:
    """Raise the EnosError subclass of status ``rc`` with the thread's detail message."""
    detail = lib.last_error()
    cls = error_class(rc)
    if cls is RejectedError:
        raise RejectedError(detail, rc, lib.strerror(rc), **extra)
    raise cls(detail, rc, lib.strerror(rc))


def _check_rc(lib: _lib.Library, rc: int) -> int:
    if rc < 0:
        _raise(lib, rc)
    return rc


# --------------------------------------------------------------------------
# module functions

def version() -> str:
    """Version of the loaded libenos, "MAJOR.MINOR.PATCH"."""
    return _lib.load().version


def library_path() -> str:
    """Path (or name) from which libenos was loaded."""
    return _lib.load().path


def sign(secret: Text, token: Text, sequence: int, iv: Optional[bytes] = None) -> str:
    """Option-2101 signature: upper-case hex of AES-128-CBC(SHA-256(secret)[8:24], iv,
    "token{T}sequence{S}"). ``iv`` is 16 bytes (None: the default "543yhjy97ae7fyfg")."""
    lib = _lib.load()
    s, t = _text(secret, "secret"), _text(token, "token")
    if isinstance(sequence, bool) or not isinstance(sequence, int):
        raise TypeError("sequence must be an int")
    if not 0 <= sequence <= 0xFFFFFFFF:
        raise InvalidArgument(f"sign: sequence {sequence} is out of range 1..2147483647", -1)
    iv_arg = _iv(iv)
    out = ctypes.create_string_buffer(ENOS_SIGN_SIZE(len(t)))
    _check_rc(lib, lib.enos_sign(s, t, sequence, iv_arg, out, len(out)))  # type: ignore[attr-defined]
    return out.value.decode("ascii")


def auth_sign(product_key: Text, device_key: Text, secret: Text, lifetime: int) -> str:
    """Authentication signature: upper-case hex SHA-256 of
    "deviceKey{dk}lifetime{lifetime}productKey{pk}secureMode2{secret}"."""
    lib = _lib.load()
    if isinstance(lifetime, bool) or not isinstance(lifetime, int):
        raise TypeError("lifetime must be an int (seconds)")
    if not -2**31 <= lifetime < 2**31:
        raise InvalidArgument(f"auth_sign: lifetime {lifetime} is out of range 30..86400", -1)
    out = ctypes.create_string_buffer(ENOS_AUTH_SIGN_SIZE)
    rc = lib.enos_auth_sign(_text(product_key, "product_key"),  # type: ignore[attr-defined]
                            _text(device_key, "device_key"), _text(secret, "secret"),
                            lifetime, out, len(out))
    _check_rc(lib, rc)
    return out.value.decode("ascii")


def _iv(iv: Optional[bytes]) -> Optional["ctypes.Array[ctypes.c_uint8]"]:
    if iv is None:
        return None
    if isinstance(iv, str):
        iv = iv.encode("utf-8")
    if not isinstance(iv, (bytes, bytearray, memoryview)):
        raise TypeError(f"iv must be 16 bytes, not {type(iv).__name__}")
    iv = bytes(iv)
    if len(iv) != 16:
        raise InvalidArgument(f"iv must be 16 bytes, not {len(iv)}", -1)
    return (ctypes.c_uint8 * 16).from_buffer_copy(iv)


# --------------------------------------------------------------------------
# logging (process-wide)

class _LogState:
    lock = threading.Lock()
    set_lock = threading.Lock()
    fn: Optional[LogHandler] = None
    pending: Optional[BaseException] = None
    trampoline: Any = None


def _log_trampoline(user: Optional[int], level: int, message: Optional[bytes]) -> None:
    fn = _LogState.fn
    if fn is None:
        return
    try:
        fn(level, message.decode("utf-8", "replace") if message else "")
    except BaseException as e:  # re-raised later: see set_log_handler
        with _LogState.lock:
            if _LogState.pending is None:
                _LogState.pending = e
                return
        _log.error("libenos log handler raised (an earlier error is still pending)", exc_info=e)


def _raise_log_pending() -> None:
    with _LogState.lock:
        e, _LogState.pending = _LogState.pending, None
    if e is not None:
        raise e


def set_log_handler(fn: Optional[LogHandler] = None, level: int = LOG_INFO, *,
                    logger: Union[None, str, logging.Logger] = None) -> None:
    """Route libenos's diagnostics (process-wide) to ``fn(level, message)`` for
    messages at ``level`` or more severe (LOG_ERROR is the most severe).

    ``logger``: instead of ``fn``, forward every line to this Python logger (a
    Logger or its name) at the matching level (LOG_ERROR -> logging.ERROR,
    LOG_WARN -> WARNING, LOG_INFO -> INFO, LOG_DEBUG -> DEBUG).
    ``fn=None`` and no logger, or ``level=LOG_OFF``, silences libenos (the default).

    ``fn`` may run on any thread, including library threads, concurrently with
    itself; it must not call into libenos. An exception raised by ``fn`` is kept
    and re-raised by the next call of set_log_handler() or of any Client
    method (later ones, while one is pending, go to the "libenos" logger).
    """
    lib = _lib.load()
    if logger is not None:
        if fn is not None:
            raise TypeError("give fn or logger, not both")
        target = logging.getLogger(logger) if isinstance(logger, str) else logger

        def fn(level: int, message: str) -> None:
            target.log(_PY_LEVELS.get(level, logging.INFO), "%s", message)

    if not isinstance(level, int) or isinstance(level, bool):
        raise TypeError("level must be an int (libenos.LOG_*)")
    setter = lib.fn("enos_set_log_handler")
    # set_lock only serializes setters. The C call waits for a log call in
    # progress, which may need _LogState.lock: never hold that one here.
    with _LogState.set_lock:
        if _LogState.trampoline is None:
            _LogState.trampoline = _lib.LOG_FN(_log_trampoline)  # kept alive for the process
        off = fn is None or level == LOG_OFF
        prev = _LogState.fn
        if not off:
            _LogState.fn = fn  # before C can call the trampoline
        rc = setter(_lib.LOG_FN() if off else _LogState.trampoline, None, LOG_OFF if off else level)
        if rc < 0:
            _LogState.fn = prev
            _raise(lib, rc)
        if off:
            _LogState.fn = None
    _raise_log_pending()


# --------------------------------------------------------------------------
# the client

_live: "weakref.WeakSet[Client]" = weakref.WeakSet()


@atexit.register
def _shutdown() -> None:
    # Stop library threads from calling into an interpreter that is going away.
    for c in list(_live):
        try:
            c._close_quietly()
        except Exception:
            pass
    lib = _lib._library
    if lib is not None and lib.has("enos_set_log_handler") and _LogState.fn is not None:
        try:
            lib.enos_set_log_handler(_lib.LOG_FN(), None, LOG_OFF)  # type: ignore[attr-defined]
        except Exception:
            pass
        _LogState.fn = None


class Client(ThingModelMixin):
    """One device connected to EnOS (an ``enos_client``).

    All durations are in seconds (float); ``None`` means the library's default.
    ``lifetime`` (s) 30..86400, default 3600; ``ack_timeout`` (s) default 2.0;
    ``max_retransmit`` 1..10, default (None or 0) 4, "none": no retransmission; ``sign_mode``
    SignMode or "auto"/"always"/"never"; ``sign_iv`` 16 bytes; ``state_dir`` a
    directory for the session and the offline queue (then report() may return
    QUEUED); ``queue_max_count`` (10000), ``queue_max_bytes`` (16 MiB),
    ``retry_interval`` (1.0 s), ``poll_interval`` (None/0: never poll by
    itself), ``command_queue`` (256), ``block_size`` (16..1024, a power of
    two; default (None or 0) 1024; "off" turns block-wise transfer off).
    As in C, 0 means the default in every numeric option.
    ``command_handler``: see :meth:`set_command_handler`.

    ``security`` "none" (default: CoAP over UDP, /auth and option 2101,
    payloads in clear) or "dtls" (CoAP over DTLS 1.2 with a pre-shared key
    derived from the device secret, default port 5684); ``dtls=True`` is
    short for ``security="dtls"``. ``product_secret`` (DTLS only): with
    ``device_secret`` None the device activates itself once with its
    product's secret and keeps the device secret in ``state_dir`` (required);
    later runs with that directory never activate again.

    Use it as a context manager, or call :meth:`close` (idempotent).
    Methods may be called from any thread. Errors raise :class:`libenos.EnosError`
    subclasses.

    Exceptions raised by the command handler are stored and re-raised (the
    original exception object, with its traceback) by the next call of any
    method of this client, before it does anything; close() raises it after
    closing. Only the first is kept until raised; further ones are logged on
    the "libenos" logger.
    """

    def __init__(self, server: str, product_key: Text, device_key: Text, device_secret: Optional[Text], *,
                 lifetime: Optional[int] = None,
                 ack_timeout: Optional[float] = None,
                 max_retransmit: Union[int, str, None] = None,
                 sign_mode: Union[SignMode, str, int, None] = None,
                 sign_iv: Optional[bytes] = None,
                 state_dir: Optional[PathLike] = None,
                 queue_max_count: Optional[int] = None,
                 queue_max_bytes: Optional[int] = None,
                 retry_interval: Optional[float] = None,
                 poll_interval: Optional[float] = None,
                 command_queue: Optional[int] = None,
                 block_size: Union[int, str, None] = None,
                 command_handler: Optional[CommandHandler] = None,
                 security: Union[str, int, None] = None,
                 dtls: bool = False,
                 product_secret: Optional[Text] = None) -> None:
        self._handle: Optional[int] = None
        self._closed = True
        self._lock = threading.Lock()
        self._pending: Optional[BaseException] = None
        self._handler: Optional[CommandHandler] = None
        self._trampoline: Any = None
        lib = self._lib = _lib.load()

        cfg = _lib.EnosConfig()
        cfg.struct_size = ctypes.sizeof(_lib.EnosConfig)
        cfg.server = _text(server, "server")
        cfg.product_key = _text(product_key, "product_key")
        cfg.device_key = _text(device_key, "device_key")
        cfg.device_secret = None if device_secret is None else _text(device_secret, "device_secret")
        cfg.lifetime_s = _int(lifetime, "lifetime")
        cfg.ack_timeout_ms = _ms(ack_timeout, "ack_timeout", 0)
        cfg.max_retransmit = _int_or_word(max_retransmit, "max_retransmit", "none", _lib.ENOS_RETRANSMIT_NONE)
        cfg.sign_mode = _sign_mode(sign_mode)
        iv = _iv(sign_iv)
        if iv is not None:
            cfg.sign_iv = ctypes.cast(iv, ctypes.POINTER(ctypes.c_uint8))
        if state_dir is not None:
            cfg.state_dir = os.fsencode(state_dir)
        cfg.queue_max_count = _int(queue_max_count, "queue_max_count")
        cfg.queue_max_bytes = _int(queue_max_bytes, "queue_max_bytes", bits=64)
        cfg.retry_interval_ms = _ms(retry_interval, "retry_interval", 0)
        cfg.poll_interval_ms = _ms(poll_interval, "poll_interval", 0)
        cfg.command_queue = _int(command_queue, "command_queue")
        cfg.block_size = _int_or_word(block_size, "block_size", "off", _lib.ENOS_BLOCK_OFF)
        cfg.security = _security(security, dtls)
        if product_secret is not None:
            cfg.product_secret = _text(product_secret, "product_secret")
        if cfg.security == ENOS_SECURITY_NONE and product_secret is None:
            # Nothing beyond block_size is used: a library older than the
            # security fields accepts the shorter struct.
            cfg.struct_size = _lib.EnosConfig.security.offset

        handle = ctypes.c_void_p()
        rc = lib.enos_init(ctypes.byref(cfg), ctypes.byref(handle))  # type: ignore[attr-defined]
        cfg.device_secret = None
        cfg.product_secret = None
        if rc < 0:
            _raise(lib, rc)
        self._handle = handle.value
        self._closed = False
        self.server = server
        self.product_key = product_key.decode() if isinstance(product_key, bytes) else str(product_key)
        self.device_key = device_key.decode() if isinstance(device_key, bytes) else str(device_key)
        _live.add(self)
        if command_handler is not None:
            try:
                self.set_command_handler(command_handler)
            except BaseException:
                self._close_quietly()
                raise

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc is None:
            self.close()
            return
        self._close_quietly()
        pending = self._take_pending()
        if pending is not None:  # do not mask the exception that is propagating
            _log.error("libenos command handler raised", exc_info=pending)

    def __del__(self) -> None:
        try:
            self._close_quietly()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (f"<libenos.Client {getattr(self, 'product_key', '?')}/{getattr(self, 'device_key', '?')}"
                f" {state}>")

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close the client (idempotent). Raises a pending command-handler exception, if any."""
        self._close_quietly()
        self._check()

    def _close_quietly(self) -> None:
        with self._lock:
            if self._closed or self._handle is None:
                return
            self._closed = True
        rc = self._lib.enos_close(self._handle)  # type: ignore[attr-defined]
        # The library promises the handler is neither running nor called again now.
        self._handler = None
        if rc < 0 and rc != ENOS_ERR_CLOSED:
            _raise(self._lib, rc)

    # -- errors from callbacks ---------------------------------------------

    def _take_pending(self) -> Optional[BaseException]:
        with self._lock:
            e, self._pending = self._pending, None
        return e

    def _check(self) -> None:
        e = self._take_pending()
        if e is not None:
            raise e
        _raise_log_pending()

    def _call(self, name: str, *args: Any) -> int:
        self._check()
        fn = self._lib.fn(name)
        rc: int = fn(self._handle, *args)
        return rc

    # -- requests ----------------------------------------------------------

    def authenticate(self) -> None:
        """Authenticate now (optional: requests authenticate by themselves)."""
        _check_rc(self._lib, self._call("enos_authenticate"))

    def report(self, payload: Data) -> Delivery:
        """Report raw bytes (up_raw). Returns DELIVERED when EnOS acknowledged it, or
        QUEUED (only with a state_dir) when it was stored for later delivery."""
        data = _data(payload, "payload")
        rc = self._call("enos_report", data, len(data))
        if rc == ENOS_QUEUED:
            return QUEUED
        _check_rc(self._lib, rc)
        return DELIVERED

    def publish(self, topic: Text, payload: Optional[Data] = b"") -> Reply:
        """POST ``payload`` to ``topic`` (e.g. "/sys/PK/DK/thing/measurepoint/post") and
        return EnOS's reply. 4.xx/5.xx raise RejectedError (with coap_code and payload)."""
        t, data = _text(topic, "topic"), _data(payload, "payload")
        code = ctypes.c_int(0)
        size = ENOS_MAX_PAYLOAD
        buf = ctypes.create_string_buffer(size)
        n = ctypes.c_size_t(0)
        rc = self._call("enos_publish", t, data, len(data), ctypes.byref(code), buf, size,
                        ctypes.byref(n))
        got = buf.raw[:min(n.value, size)]
        if rc == ENOS_ERR_REJECTED:
            _raise(self._lib, rc, coap_code=code.value or None, payload=got)
        _check_rc(self._lib, rc)
        return Reply(code.value, coap_code_str(code.value), got, n.value > size)

    def next_sign(self) -> NextSign:
        """Consume the session's next sequence and return its option-2101 signature."""
        size = ENOS_SIGN_SIZE(256)
        seq = ctypes.c_uint32(0)
        for _ in range(8):
            out = ctypes.create_string_buffer(size)
            rc = self._call("enos_next_sign", out, size, ctypes.byref(seq))
            if rc == ENOS_ERR_BUFFER:
                size *= 2
                continue
            _check_rc(self._lib, rc)
            return NextSign(out.value.decode("ascii"), seq.value)
        _raise(self._lib, ENOS_ERR_BUFFER)
        raise AssertionError("unreachable")

    # -- offline queue and statistics -------------------------------------

    def flush(self, timeout: Optional[float] = None) -> None:
        """Wait until every queued report is delivered. ``timeout`` in seconds: None
        waits without limit, 0 only checks. Raises EnosTimeoutError when reports are
        still queued at the end (they stay queued)."""
        self._wait("enos_flush", timeout)

    def _wait(self, name: str, timeout: Optional[float], *args: Any) -> int:
        """Call a waiting function in slices of at most _WAIT_SLICE seconds."""
        total = _ms(timeout, "timeout", -1)
        deadline = None if total < 0 else time.monotonic() + total / 1000.0
        while True:
            if deadline is None:
                step = int(_WAIT_SLICE * 1000)
            else:
                step = max(0, min(int(_WAIT_SLICE * 1000),
                                  int((deadline - time.monotonic()) * 1000 + 0.999)))
            rc = self._call(name, step, *args)
            if rc == ENOS_ERR_TIMEOUT and (deadline is None or time.monotonic() < deadline):
                continue
            if rc < 0:
                _raise(self._lib, rc)
            return rc

    @property
    def stats(self) -> Stats:
        """The client's counters (a fresh snapshot on every access)."""
        st = _lib.EnosStats()
        st.struct_size = ctypes.sizeof(_lib.EnosStats)
        _check_rc(self._lib, self._call("enos_get_stats", ctypes.byref(st)))
        return Stats(**{f.name: int(getattr(st, f.name)) for f in dataclasses.fields(Stats)})

    # -- commands ----------------------------------------------------------

    def set_command_handler(self, fn: Optional[CommandHandler]) -> None:
        """Deliver every command to ``fn(command)`` on a library thread, in order,
        one call at a time; None removes it (commands then wait for
        :meth:`next_command` / :meth:`commands`). ``fn`` may call any method of
        this client, reply() included. If it raises, the exception is re-raised
        by the next call of a method of this client."""
        if fn is not None and not callable(fn):
            raise TypeError("command handler must be callable")
        setter = self._lib.fn("enos_set_command_handler")
        self._check()
        if fn is None:
            rc = setter(self._handle, _lib.COMMAND_FN(), None)  # NULL removes it
            _check_rc(self._lib, rc)
            self._handler = None
            return
        if self._trampoline is None:
            self._trampoline = _lib.COMMAND_FN(_command_trampoline(weakref.ref(self)))
        self._handler = fn
        rc = setter(self._handle, self._trampoline, None)
        if rc < 0:
            self._handler = None
            _raise(self._lib, rc)

    def on_command(self, fn: CommandHandler) -> CommandHandler:
        """Decorator form of :meth:`set_command_handler`."""
        self.set_command_handler(fn)
        return fn

    def _handler_failed(self, e: BaseException) -> None:
        with self._lock:
            if self._pending is None:
                self._pending = e
                return
        _log.error("libenos command handler raised (an earlier error is still pending)", exc_info=e)

    def poll(self) -> int:
        """Ask EnOS for waiting commands; returns how many arrived."""
        return _check_rc(self._lib, self._call("enos_poll"))

    def next_command(self, timeout: Optional[float] = 0) -> Optional[Command]:
        """Take the oldest waiting command, waiting up to ``timeout`` seconds (None:
        without limit, 0: not at all). Returns None when none arrived in time.
        No network I/O: call poll() (or set poll_interval) to fetch commands."""
        topic_size, payload_size = _FIRST_TOPIC_SIZE, _FIRST_PAYLOAD_SIZE
        for _ in range(32):
            topic = ctypes.create_string_buffer(topic_size)
            payload = ctypes.create_string_buffer(payload_size)
            plen = ctypes.c_size_t(0)
            try:
                self._wait("enos_next_command", timeout, topic, topic_size, payload, payload_size,
                           ctypes.byref(plen))
            except BufferTooSmall as e:
                # The command stays queued; grow to what the library says it needs:
                # payload_len for the payload, the detail message for the topic.
                grew = plen.value > payload_size
                payload_size = max(payload_size, plen.value)
                m = re.search(r"topic_size >= (\d+)", e.detail)
                if m:
                    topic_size = max(topic_size, int(m.group(1)))
                elif not grew:
                    topic_size *= 2
                continue
            except EnosTimeoutError:
                return None
            n = plen.value
            return Command(topic.value.decode("utf-8", "replace"), payload.raw[:n])
        _raise(self._lib, ENOS_ERR_BUFFER)
        raise AssertionError("unreachable")

    def commands(self, timeout: Optional[float] = None) -> Iterator[Command]:
        """Iterate over commands as they arrive: each step waits up to ``timeout``
        seconds (None: without limit) and the iteration ends when none came.
        Does no network I/O itself (see poll(), poll_interval)."""
        while True:
            cmd = self.next_command(timeout)
            if cmd is None:
                return
            yield cmd

    def reply(self, command: Union[Command, Text], payload: Optional[Data] = b"") -> None:
        """Answer a command: POST ``payload`` to its topic + "_reply"."""
        topic = command.topic if isinstance(command, Command) else command
        t, data = _text(topic, "topic"), _data(payload, "payload")
        _check_rc(self._lib, self._call("enos_reply", t, data, len(data)))

    # -- asyncio -----------------------------------------------------------

    async def report_async(self, payload: Data) -> Delivery:
        """:meth:`report` without blocking: the library sends it in the background and
        the coroutine resumes when EnOS answered (DELIVERED), the report was stored
        (QUEUED), or it failed (the same exceptions as report()). One client's
        reports go out in the order the calls were made. Raises BusyError at once
        when too many requests are outstanding. Cancelling the awaiting task does
        not take the report back."""
        data = _data(payload, "payload")
        self._check()
        fut = _async.submit(self._lib, "enos_report_async", self._handle, data, len(data))
        return QUEUED if await fut == ENOS_QUEUED else DELIVERED

    async def publish_async(self, topic: Text, payload: Optional[Data] = b"") -> None:
        """:meth:`publish` without blocking; returns when EnOS answered 2.xx, raises
        RejectedError for 4.xx/5.xx (EnOS's reply payload is not kept: use
        publish() when you need it)."""
        t, data = _text(topic, "topic"), _data(payload, "payload")
        self._check()
        await _async.submit(self._lib, "enos_publish_async", self._handle, t, data, len(data))

    async def commands_async(self) -> AsyncIterator[Command]:
        """Iterate over commands in the event loop as they arrive (``async for``).
        While it runs it is this client's command handler (see
        set_command_handler); leaving the loop removes it."""
        loop = asyncio.get_running_loop()
        queue: "asyncio.Queue[Command]" = asyncio.Queue()

        def deliver(cmd: Command) -> None:  # on a library thread
            try:
                loop.call_soon_threadsafe(queue.put_nowait, cmd)
            except RuntimeError:
                pass  # the loop is closed: nobody iterates any more

        self.set_command_handler(deliver)
        try:
            while True:
                yield await queue.get()
        finally:
            if not self.closed:
                self.set_command_handler(None)


def _command_trampoline(ref: "weakref.ReferenceType[Client]") -> Callable[..., None]:
    def trampoline(user: Optional[int], topic: Optional[bytes], payload: Optional[int],
                   length: int) -> None:
        client = ref()
        if client is None:
            return
        fn = client._handler
        if fn is None:
            return
        try:
            data = ctypes.string_at(payload, length) if payload and length else b""
            fn(Command((topic or b"").decode("utf-8", "replace"), data))
        except BaseException as e:  # never let it vanish into ctypes: re-raised later
            client._handler_failed(e)
    return trampoline


def _int(value: Optional[int], what: str, bits: int = 32) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not -(1 << (bits - 1)) <= value < 1 << (bits - 1):
        raise InvalidArgument(f"{what} {value} is out of range", -1)
    return value


def _int_or_word(value: Union[int, str, None], what: str, word: str, special: int) -> int:
    """An option that is a count (0 or None: the default) or a word that turns
    the mechanism off ("none", "off"): the C API's named negative value."""
    if isinstance(value, str):
        if value.strip().lower() == word:
            return special
        raise InvalidArgument(f'{what} {value!r}: want an int (0 = default) or "{word}"', -1)
    n = _int(value, what)
    if n < 0:
        raise InvalidArgument(f'{what} {n} is negative: "{word}" turns it off, 0 means the default', -1)
    return n


def _sign_mode(mode: Union[SignMode, str, int, None]) -> int:
    if mode is None:
        return SignMode.AUTO
    if isinstance(mode, str):
        try:
            return SignMode[mode.upper()]
        except KeyError:
            raise InvalidArgument(f"sign_mode {mode!r}: use 'auto', 'always' or 'never'", -1) from None
    return _int(int(mode), "sign_mode")

