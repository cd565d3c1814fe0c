# SPDX-License-Identifier: Apache-2.0

"""Loading libenos and declaring its C functions (ctypes).

Internal module: the public API is in :mod:`libenos`. Every function of
``include/enos.h`` is declared here with both ``argtypes`` and ``restype``.

Search order for the shared library:

1. ``$ENOS_LIBRARY`` (a path to the ``.so`` file); if set it must load,
   there is no fall-back.
2. Next to the package: ``libenos/libenos.so.1``, ``libenos/libenos.so``, or any
   other ``libenos/libenos.so*`` (a wheel or a vendor bundle may ship it there).
3. The system: ``libenos.so.1`` (the SONAME) through the dynamic loader, then
   ``ctypes.util.find_library("enos")``.

A file given by path (1 and 2) is checked before it is loaded: an ELF file of
another architecture than the running interpreter (say an aarch64 wheel on
x86-64) is a LibraryError that names both architectures, at once: the loader
would only say "wrong ELF class" or "No such file or directory", and falling
back to another copy would hide a broken installation.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _elf
from .errors import LibraryError, UnsupportedError

#: The C API this package is written against (include/enos.h ENOS_VERSION_MAJOR/MINOR).
API_VERSION: Tuple[int, int] = (1, 1)

# Special values of enos_config fields (include/enos.h): 0 is always the default.
ENOS_RETRANSMIT_NONE = -1
ENOS_BLOCK_OFF = -1

# Status codes (include/enos.h).
ENOS_OK = 0
ENOS_QUEUED = 1
ENOS_ERR_INVALID = -1
ENOS_ERR_BUFFER = -2
ENOS_ERR_NETWORK = -3
ENOS_ERR_TIMEOUT = -4
ENOS_ERR_AUTH = -5
ENOS_ERR_REJECTED = -6
ENOS_ERR_CLOSED = -7
ENOS_ERR_STATE = -8
ENOS_ERR_FULL = -9
ENOS_ERR_INTERNAL = -99

ENOS_AUTH_SIGN_SIZE = 65
ENOS_MAX_PAYLOAD = 65536


def ENOS_SIGN_SIZE(token_len: int) -> int:
    """Buffer size for an option-2101 signature of a token of ``token_len`` bytes."""
    return ((token_len + 23) // 16 + 1) * 32 + 1


class EnosConfig(ctypes.Structure):
    """``enos_config`` (1.0 layout)."""

    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("server", ctypes.c_char_p),
        ("product_key", ctypes.c_char_p),
        ("device_key", ctypes.c_char_p),
        ("device_secret", ctypes.c_char_p),
        ("lifetime_s", ctypes.c_int32),
        ("ack_timeout_ms", ctypes.c_int32),
        ("max_retransmit", ctypes.c_int32),
        ("sign_mode", ctypes.c_int32),
        ("sign_iv", ctypes.POINTER(ctypes.c_uint8)),
        ("state_dir", ctypes.c_char_p),
        # offline queue, commands, block-wise
        ("queue_max_count", ctypes.c_int32),
        ("queue_max_bytes", ctypes.c_int64),
        ("retry_interval_ms", ctypes.c_int32),
        ("poll_interval_ms", ctypes.c_int32),
        ("command_queue", ctypes.c_int32),
        ("block_size", ctypes.c_int32),
        # security (DTLS)
        ("security", ctypes.c_int32),
        ("product_secret", ctypes.c_char_p),
    ]

ENOS_SECURITY_NONE = 0
ENOS_SECURITY_DTLS = 1


class EnosStats(ctypes.Structure):
    """``enos_stats``."""

    _fields_ = [("struct_size", ctypes.c_uint32)] + [
        (name, ctypes.c_uint64)
        for name in (
            "sent", "failed", "retransmissions", "auths", "reauths", "queued", "queued_bytes",
            "queued_total", "queue_delivered", "queue_dropped", "commands", "commands_dropped",
            "state_errors",
        )
    ]


#: void (*enos_command_fn)(void *user, const char *topic, const uint8_t *payload, size_t len)
# payload is declared c_void_p (not POINTER(c_uint8)) so that ctypes passes a plain int
# that ctypes.string_at() reads without building a pointer object.
COMMAND_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t)
#: void (*enos_log_fn)(void *user, int level, const char *message)
LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)
#: void (*enos_done_fn)(void *user, int status)
DONE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int)

_client_p = ctypes.c_void_p  # enos_client * is an opaque handle
_c_int_p = ctypes.POINTER(ctypes.c_int)
_size_p = ctypes.POINTER(ctypes.c_size_t)
_u8_p = ctypes.POINTER(ctypes.c_uint8)

# name: (restype, argtypes, required). Optional functions may be missing from a
# development build of the library; using them raises UnsupportedError.
_SIGNATURES: Dict[str, Tuple[Any, List[Any], bool]] = {
    "enos_init": (ctypes.c_int, [ctypes.POINTER(EnosConfig), ctypes.POINTER(_client_p)], True),
    "enos_authenticate": (ctypes.c_int, [_client_p], True),
    "enos_report": (ctypes.c_int, [_client_p, ctypes.c_void_p, ctypes.c_size_t], True),
    "enos_publish": (ctypes.c_int, [_client_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t,
                                    _c_int_p, ctypes.c_void_p, ctypes.c_size_t, _size_p], True),
    "enos_next_sign": (ctypes.c_int, [_client_p, ctypes.c_char_p, ctypes.c_size_t,
                                      ctypes.POINTER(ctypes.c_uint32)], True),
    "enos_sign": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint32, _u8_p,
                                 ctypes.c_char_p, ctypes.c_size_t], True),
    "enos_auth_sign": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int32,
                                      ctypes.c_char_p, ctypes.c_size_t], True),
    "enos_close": (ctypes.c_int, [_client_p], True),
    "enos_strerror": (ctypes.c_char_p, [ctypes.c_int], True),
    "enos_last_error": (ctypes.c_char_p, [], True),
    "enos_version": (ctypes.c_char_p, [], True),
    # offline queue, statistics, commands, logging
    "enos_flush": (ctypes.c_int, [_client_p, ctypes.c_int32], False),
    "enos_get_stats": (ctypes.c_int, [_client_p, ctypes.POINTER(EnosStats)], False),
    "enos_set_command_handler": (ctypes.c_int, [_client_p, COMMAND_FN, ctypes.c_void_p], False),
    "enos_poll": (ctypes.c_int, [_client_p], False),
    "enos_next_command": (ctypes.c_int, [_client_p, ctypes.c_int32, ctypes.c_char_p, ctypes.c_size_t,
                                         ctypes.c_void_p, ctypes.c_size_t, _size_p], False),
    "enos_reply": (ctypes.c_int, [_client_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t], False),
    "enos_set_log_handler": (ctypes.c_int, [LOG_FN, ctypes.c_void_p, ctypes.c_int], False),
    # asynchronous requests (1.1)
    "enos_report_async": (ctypes.c_int, [_client_p, ctypes.c_void_p, ctypes.c_size_t, DONE_FN,
                                         ctypes.c_void_p], False),
    "enos_publish_async": (ctypes.c_int, [_client_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t,
                                          DONE_FN, ctypes.c_void_p], False),
    # thing model (libenos 1.1)
    "enos_thing_request": (ctypes.c_int, [_client_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                                          ctypes.c_size_t, _size_p], False),
    "enos_post_measurepoints": (ctypes.c_int, [_client_p, ctypes.c_char_p, ctypes.c_int64], False),
    "enos_post_event": (ctypes.c_int, [_client_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int64], False),
    "enos_reply_result": (ctypes.c_int, [_client_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t,
                                         ctypes.c_int32, ctypes.c_char_p], False),
    "enos_last_reply_code": (ctypes.c_int32, [], False),
    "enos_last_reply_message": (ctypes.c_char_p, [], False),
}


class Library:
    """The loaded shared library with every function declared."""

    def __init__(self, cdll: ctypes.CDLL, path: str) -> None:
        self.cdll = cdll
        self.path = path
        self.missing: List[str] = []
        for name, (restype, argtypes, required) in _SIGNATURES.items():
            try:
                fn = getattr(cdll, name)
            except AttributeError:
                if required:
                    raise LibraryError(f"{path} does not export {name}: not a libenos library?") from None
                self.missing.append(name)
                continue
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, fn)
        raw = cdll.enos_version()
        self.version: str = raw.decode("ascii", "replace") if raw else ""
        self.version_info: Tuple[int, ...] = _parse_version(self.version, path)
        if (self.version_info[0] != API_VERSION[0]
                or self.version_info[1] < API_VERSION[1]):
            raise LibraryError(
                f"incompatible libenos {self.version} at {path}: the libenos package needs "
                f"{API_VERSION[0]}.{API_VERSION[1]}.x or a newer {API_VERSION[0]}.x "
                f"(set ENOS_LIBRARY to a matching library)")

    def has(self, name: str) -> bool:
        return name not in self.missing

    def fn(self, name: str) -> Callable[..., Any]:
        """The declared function ``name``; UnsupportedError when the library lacks it."""
        if name in self.missing:
            raise UnsupportedError(
                f"the loaded libenos {self.version} ({self.path}) does not export {name}; "
                f"rebuild or update the library")
        f: Callable[..., Any] = getattr(self, name)
        return f

    def last_error(self) -> str:
        raw = self.enos_last_error()  # type: ignore[attr-defined]
        return raw.decode("utf-8", "replace") if raw else ""

    def strerror(self, code: int) -> str:
        raw = self.enos_strerror(code)  # type: ignore[attr-defined]
        return raw.decode("utf-8", "replace") if raw else "unknown error"


def _parse_version(text: str, path: str) -> Tuple[int, ...]:
    try:
        parts = tuple(int(p) for p in text.split("-")[0].split("."))
        if len(parts) < 2:
            raise ValueError(text)
        return parts
    except ValueError:
        raise LibraryError(f"{path}: enos_version() returned {text!r}, not MAJOR.MINOR.PATCH") from None


def candidates() -> List[str]:
    """Library paths to try, in order (see the module documentation)."""
    env = os.environ.get("ENOS_LIBRARY")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    out: List[str] = []
    for name in ("libenos.so.1", "libenos.so"):
        p = os.path.join(here, name)
        if os.path.exists(p):
            out.append(p)
    for p in sorted(glob.glob(os.path.join(here, "libenos.so*"))):
        if p not in out:
            out.append(p)
    out.append("libenos.so.1")
    found = ctypes.util.find_library("enos")
    if found and found not in out:
        out.append(found)
    return out


_lock = threading.Lock()
_library: Optional[Library] = None


def load() -> Library:
    """Load (once) and return the library; LibraryError when none fits."""
    global _library
    lib = _library
    if lib is not None:
        return lib
    with _lock:
        if _library is not None:
            return _library
        env = os.environ.get("ENOS_LIBRARY")
        errors: List[str] = []
        for path in candidates():
            if os.sep in path and os.path.isfile(path):
                wrong = _elf.mismatch(path)
                if wrong:
                    raise LibraryError(("ENOS_LIBRARY: " if env else "") + "cannot load libenos: " + wrong)
            try:
                cdll = ctypes.CDLL(path)
            except OSError as e:
                errors.append(f"{path}: {e}")
                if env:
                    break
                continue
            # A library that loads but does not fit is an error at once: libenos
            # cannot be unloaded (dlclose does nothing for a Go runtime), so trying
            # another copy would put a second Go runtime into the process.
            _library = Library(cdll, path)
            return _library
        where = "ENOS_LIBRARY" if env else "ENOS_LIBRARY (unset), the package directory and the system"
        raise LibraryError("cannot load libenos from " + where + ": " + "; ".join(errors))
