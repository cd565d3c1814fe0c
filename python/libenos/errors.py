# SPDX-License-Identifier: Apache-2.0

"""Exceptions of the libenos package.

Every failing libenos call raises a subclass of :class:`EnosError` chosen by
its status code; ``str(error)`` is libenos's detail message
(``enos_last_error()``), which never contains a device secret, a signing key
or a session token.
"""

from __future__ import annotations

from typing import Dict, Optional, Type


class LibraryError(ImportError):
    """libenos cannot be found or loaded, or its version does not fit this package."""


class UnsupportedError(LibraryError):
    """The loaded libenos lacks a function that this call needs (an older or partial build)."""


class EnosError(Exception):
    """A libenos call failed.

    Attributes:
        code: the ENOS_ERR_* status code (negative int).
        name: libenos's name for the code (``enos_strerror``), e.g. ``"invalid argument"``.
        detail: the detail message (``enos_last_error``), e.g.
            ``"enos_init: config->device_key is NULL"``.
    """

    code: int = 0

    def __init__(self, detail: str, code: Optional[int] = None, name: str = "") -> None:
        if code is not None:
            self.code = code
        self.detail = detail
        self.name = name
        super().__init__(detail or name or f"libenos error {self.code}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, detail={self.detail!r})"


class InvalidArgument(EnosError, ValueError):
    """ENOS_ERR_INVALID: an argument is missing, empty, malformed or out of range."""

    code = -1


class BufferTooSmall(EnosError):
    """ENOS_ERR_BUFFER: an output buffer was too small (the package normally retries)."""

    code = -2


class NetworkError(EnosError):
    """ENOS_ERR_NETWORK: the server cannot be resolved or reached."""

    code = -3


class EnosTimeoutError(EnosError):
    """ENOS_ERR_TIMEOUT: no answer within the retransmission window, or a wait
    (flush, next_command) ran out. Not a subclass of the builtin TimeoutError
    (an OSError); catch ``libenos.EnosTimeoutError``."""

    code = -4


class AuthError(EnosError):
    """ENOS_ERR_AUTH: EnOS refused authentication (wrong secret, unknown device)."""

    code = -5


class RejectedError(EnosError):
    """ENOS_ERR_REJECTED: EnOS answered 4.xx/5.xx.

    Attributes:
        coap_code: the CoAP response code as an int (class << 5 | detail, 132 for
            4.04), or None when the call does not report it (report, reply).
        coap_code_str: the same as "4.04", or None.
        payload: EnOS's reply payload (publish only), else b"".
    """

    code = -6

    def __init__(self, detail: str, code: Optional[int] = None, name: str = "",
                 coap_code: Optional[int] = None, payload: bytes = b"") -> None:
        super().__init__(detail, code, name)
        self.coap_code = coap_code
        self.coap_code_str = coap_code_str(coap_code) if coap_code else None
        self.payload = payload


class ThingRejectedError(RejectedError):
    """EnOS refused a thing-model request's content: its JSON reply carried a code
    other than 200 (the CoAP code was 2.04).

    Attributes:
        enos_code: EnOS's code, e.g. 1204 ("Model validate failed").
        message: EnOS's message ("" when it gave none).
    """

    def __init__(self, detail: str, code: Optional[int] = None, name: str = "",
                 enos_code: int = 0, message: str = "") -> None:
        super().__init__(detail, code, name)
        self.enos_code = enos_code
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(enos_code={self.enos_code}, message={self.message!r})"


class ClosedError(EnosError):
    """ENOS_ERR_CLOSED: the client is closed."""

    code = -7


class StateError(EnosError):
    """ENOS_ERR_STATE: state_dir is locked by another client, unreadable or unwritable."""

    code = -8


class QueueFullError(EnosError):
    """ENOS_ERR_FULL: the offline queue is full; the report was not accepted."""

    code = -9


class BusyError(EnosError):
    """ENOS_ERR_BUSY: too many asynchronous requests outstanding; nothing was accepted: try again later."""

    code = -10


class NoFileError(EnosError):
    """ENOS_ERR_NOFILE: the process is out of file descriptors (raise ``ulimit -n`` / LimitNOFILE)."""

    code = -11


class InternalError(EnosError):
    """ENOS_ERR_INTERNAL (or a code this package does not know): a bug in libenos."""

    code = -99


_BY_CODE: Dict[int, Type[EnosError]] = {
    cls.code: cls
    for cls in (InvalidArgument, BufferTooSmall, NetworkError, EnosTimeoutError, AuthError,
                RejectedError, ClosedError, StateError, QueueFullError, BusyError, NoFileError,
                InternalError)
}


def error_class(code: int) -> Type[EnosError]:
    """The exception class for an ENOS_ERR_* code (InternalError for unknown codes)."""
    return _BY_CODE.get(code, InternalError)


def coap_code_str(code: int) -> str:
    """68 -> "2.04"."""
    return f"{(code >> 5) & 7}.{code & 31:02d}"
