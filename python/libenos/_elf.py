# SPDX-License-Identifier: Apache-2.0

"""The architecture of an ELF file, from its header (stdlib only).

Used before ctypes loads a library: the dynamic loader's own message for a
library of another architecture is misleading ("wrong ELF class", or even
"cannot open shared object file: No such file or directory"), so the binding
compares the file's e_machine and class with the running interpreter's first
and says what is wrong. The wheel build (python/_build) uses it for the
wheel's platform tag.
"""

from __future__ import annotations

import os
import sys
from typing import NamedTuple, Optional

# e_machine -> (architecture as in wheel platform tags / uname -m, readable name)
_MACHINES = {
    3: ("i686", "x86 (i386)"),
    20: ("ppc", "PowerPC"),
    21: ("ppc64", "PowerPC 64"),
    22: ("s390x", "IBM S/390"),
    40: ("armv7l", "ARM (32-bit)"),
    62: ("x86_64", "x86-64"),
    183: ("aarch64", "AArch64 (ARM 64-bit)"),
    243: ("riscv64", "RISC-V"),
}


class ElfHeader(NamedTuple):
    bits: int  # 32 or 64 (EI_CLASS)
    little_endian: bool  # EI_DATA
    machine: int  # e_machine

    @property
    def arch(self) -> str:
        """The architecture name used in wheel tags (``x86_64``, ``aarch64``, ``armv7l``...)."""
        name = _MACHINES.get(self.machine, (f"em{self.machine}", ""))[0]
        if name == "ppc64" and self.little_endian:
            return "ppc64le"
        return name

    def describe(self) -> str:
        name = _MACHINES.get(self.machine, ("", f"ELF machine {self.machine}"))[1]
        endian = "" if self.little_endian or self.machine in (20, 21, 22) else ", big-endian"
        return f"{name}, {self.bits}-bit{endian}"


def read_header(path: str) -> Optional[ElfHeader]:
    """The header of ELF file ``path``; None when it is not ELF. OSError if unreadable."""
    with open(path, "rb") as f:
        head = f.read(20)
    if len(head) < 20 or head[:4] != b"\x7fELF" or head[4] not in (1, 2) or head[5] not in (1, 2):
        return None
    little = head[5] == 1
    machine = int.from_bytes(head[18:20], "little" if little else "big")
    return ElfHeader(32 if head[4] == 1 else 64, little, machine)


def running() -> Optional[ElfHeader]:
    """The header of the running interpreter's executable (what a library must match)."""
    for exe in ("/proc/self/exe", sys.executable):
        try:
            if exe:
                h = read_header(os.path.realpath(exe))
                if h is not None:
                    return h
        except OSError:
            continue
    return None


def mismatch(path: str) -> Optional[str]:
    """Why ``path`` cannot be loaded into this process, or None when its header fits
    (or cannot be read: then the loader's own error is the best there is)."""
    try:
        lib = read_header(path)
    except OSError:
        return None
    if lib is None:
        return f"{path} is not an ELF shared library"
    me = running()
    if me is None or (lib.machine, lib.bits, lib.little_endian) == (me.machine, me.bits, me.little_endian):
        return None
    return (f"{path} is built for {lib.describe()}, but this Python runs on {me.describe()}: "
            f"install the libenos wheel or library built for {me.arch}")
