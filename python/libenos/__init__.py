# SPDX-License-Identifier: Apache-2.0

"""libenos: connect a device to Envision EnOS over CoAP/UDP (ctypes binding of libenos).

Quick start::

    import libenos

    with libenos.Client("coap-enos.example.com", "MuGsF6W4", "15bBZlRknc", "sMgTXBUvDNeWGAJWnDcT") as c:
        c.report(b"\\x01\\x02")

See python/README.md for the whole API. The shared library is found through
``$ENOS_LIBRARY``, then next to this package, then the system (``libenos.so.1``).
"""

from ._lib import API_VERSION
from .client import (DELIVERED, LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_OFF, LOG_WARN, QUEUED, Client,
                     Command, Delivery, NextSign, Reply, SignMode, Stats, auth_sign, library_path,
                     set_log_handler, sign, version)
from .errors import (AuthError, BufferTooSmall, BusyError, ClosedError, EnosError, EnosTimeoutError,
                     InternalError, InvalidArgument, LibraryError, NetworkError, NoFileError, QueueFullError,
                     RejectedError, StateError, ThingRejectedError, UnsupportedError)

__version__ = "1.1.0"

__all__ = [
    "API_VERSION", "Client", "Command", "Delivery", "DELIVERED", "QUEUED", "NextSign", "Reply", "SignMode",
    "Stats", "auth_sign", "library_path", "set_log_handler", "sign", "version",
    "LOG_OFF", "LOG_ERROR", "LOG_WARN", "LOG_INFO", "LOG_DEBUG",
    "EnosError", "InvalidArgument", "BufferTooSmall", "NetworkError", "EnosTimeoutError", "AuthError",
    "RejectedError", "ClosedError", "StateError", "QueueFullError", "BusyError", "NoFileError",
    "InternalError", "LibraryError",
    "UnsupportedError", "ThingRejectedError",
]
