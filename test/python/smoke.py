#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0

"""ctypes smoke test of libenos.so: signature vectors, auth_sign, and
init + report + publish + close against enos-sim.

Run through the simulator wrapper (it exports ENOS_SIM_ADDR):
    test/c/with-sim.sh -- python3 test/python/smoke.py
Without ENOS_SIM_ADDR the network part fails (it is part of the smoke test).
Set LIBENOS to load a library other than build/libenos.so.
"""
import ctypes
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB = os.environ.get("LIBENOS", os.path.join(ROOT, "build", "libenos.so"))

# The constants, ENOS_SIGN_SIZE, the whole enos_config and the function
# declarations come from the Python package's python/libenos/_lib.py (one copy of
# include/enos.h in Python); the calls below stay raw ctypes on the library at
# LIB, which _lib never loads here.
sys.path.insert(0, os.path.join(ROOT, "python"))
from libenos._lib import (ENOS_AUTH_SIGN_SIZE, ENOS_ERR_BUFFER, ENOS_ERR_CLOSED, ENOS_ERR_INVALID,  # noqa: E402
                       ENOS_OK, ENOS_SIGN_SIZE, EnosConfig, _SIGNATURES)

# The functions this test calls.
USED = ("enos_init", "enos_authenticate", "enos_report", "enos_publish", "enos_sign", "enos_auth_sign",
        "enos_close", "enos_strerror", "enos_last_error", "enos_version")


def load(path):
    lib = ctypes.CDLL(path)
    for name in USED:
        restype, argtypes, _ = _SIGNATURES[name]
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


passed = failed = 0


def header_version():
    """ENOS_VERSION_STRING of include/enos.h: the library must report the same."""
    with open(os.path.join(ROOT, "include", "enos.h")) as f:
        for line in f:
            if line.startswith("#define ENOS_VERSION_STRING"):
                return line.split('"')[1].encode()
    raise SystemExit("ENOS_VERSION_STRING not found in include/enos.h")


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print("ok:", what)
    else:
        failed += 1
        print("FAIL:", what)


def main():
    lib = load(LIB)
    detail = lambda: lib.enos_last_error().decode()  # noqa: E731
    check(lib.enos_version() == header_version(), "version %s" % lib.enos_version().decode())

    # Signature vectors of docs/protocol.md §8.
    secret, token = b"sMgTXBUvDNeWGAJWnDcT", b"8GjM3fXkD2oQ"
    out = ctypes.create_string_buffer(ENOS_SIGN_SIZE(len(token)))
    rc = lib.enos_sign(secret, token, 1, None, out, len(out))
    check(rc == ENOS_OK and out.value == b"A3A7B1325BCE9F925F54E6D8134AA3EB3F57D08BE168FA28B47327C8C9F13C23",
          "enos_sign sequence 1")
    rc = lib.enos_sign(secret, token, 2147483647, None, out, len(out))
    check(rc == ENOS_OK and out.value == b"A3A7B1325BCE9F925F54E6D8134AA3EB7FA78F2B2C4577FB50F4F5B2C6A969D6"
          b"C80BB4CD92C15BED2BA262C216D351FE", "enos_sign sequence 2147483647")
    zero_iv = (ctypes.c_uint8 * 16)()
    rc = lib.enos_sign(secret, token, 1, zero_iv, out, len(out))
    check(rc == ENOS_OK and out.value == b"F0CE00D594FE20BA7FDF501A5490FA2E1428FD245245FCA3A599F8CDBFF6BA48",
          "enos_sign zero IV")
    small = ctypes.create_string_buffer(b"\xa5" * 16, 16)
    rc = lib.enos_sign(secret, token, 1, None, small, len(small))
    check(rc == ENOS_ERR_BUFFER and small.raw == b"\xa5" * 16, "enos_sign small buffer untouched")
    rc = lib.enos_sign(secret, token, 0, None, out, len(out))
    check(rc == ENOS_ERR_INVALID and "sequence" in detail(), "enos_sign sequence 0: %s" % detail())

    auth = ctypes.create_string_buffer(ENOS_AUTH_SIGN_SIZE)
    rc = lib.enos_auth_sign(b"MuGsF6W4", b"15bBZlRknc", secret, 3600, auth, len(auth))
    check(rc == ENOS_OK and auth.value == b"F5E24B19438C8A44DE47C64FB2852D5762C628A8EAB6688851C9FF3E46218B6B",
          "enos_auth_sign lifetime 3600")
    check(lib.enos_strerror(-12345) is not None, "strerror of an unknown code")

    # Against enos-sim.
    addr = os.environ.get("ENOS_SIM_ADDR")
    check(addr is not None, "ENOS_SIM_ADDR set (run via test/c/with-sim.sh)")
    if addr is None:
        return
    cfg = EnosConfig(struct_size=ctypes.sizeof(EnosConfig), server=addr.encode(),
                     product_key=os.environ.get("ENOS_SIM_PK", "MuGsF6W4").encode(),
                     device_key=os.environ.get("ENOS_SIM_DK", "15bBZlRknc").encode(),
                     device_secret=os.environ.get("ENOS_SIM_SECRET", secret.decode()).encode(),
                     ack_timeout_ms=500, max_retransmit=2)
    client = ctypes.c_void_p()
    rc = lib.enos_init(ctypes.byref(cfg), ctypes.byref(client))
    check(rc == ENOS_OK and client.value, "enos_init")
    data = b"python-smoke\x00\xff"
    rc = lib.enos_report(client, data, len(data))
    check(rc == ENOS_OK, "enos_report: %s" % (lib.enos_strerror(rc).decode() if rc else "ok"))
    code, rlen = ctypes.c_int(-1), ctypes.c_size_t(99)
    reply = ctypes.create_string_buffer(64)
    body = b'{"measurepoints":{"temp":21.5}}'
    topic = b"/sys/%s/%s/thing/measurepoint/post" % (cfg.product_key, cfg.device_key)
    rc = lib.enos_publish(client, topic, body, len(body), ctypes.byref(code), reply, len(reply), ctypes.byref(rlen))
    check(rc == ENOS_OK and code.value == 68, "enos_publish -> CoAP %d.%02d" % (code.value >> 5, code.value & 31))
    check(lib.enos_close(client) == ENOS_OK, "enos_close")
    rc = lib.enos_report(client, data, len(data))
    check(rc == ENOS_ERR_CLOSED, "report after close: %s" % detail())

    log = os.environ.get("ENOS_SIM_LOG")
    if log:
        import base64
        import json
        with open(log) as f:
            payloads = [base64.b64decode(json.loads(line)["payload"] or "") for line in f if line.strip()]
        check(data in payloads and body in payloads, "enos-sim recorded the report and the publish")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a crash is a failure with a final line too
        failed += 1
        print("FAIL: exception:", repr(e))
    print("python: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
