# SPDX-License-Identifier: Apache-2.0

"""In-tree PEP 517 / PEP 660 build backend for the libenos package (stdlib only).

Why not setuptools.build_meta: the machines this project runs on have no PyPI
access and setuptools without the ``wheel`` package, so setuptools cannot
build a wheel there at all ("invalid command 'bdist_wheel'"), and pip's build
isolation would try to download both. This backend needs nothing: ``pip
install ./python`` works offline, with or without build isolation.

The package is pure Python. Metadata comes from pyproject.toml's [project]
table, except the version (``dynamic``): that is ``__version__`` of
libenos/__init__.py, written in that one place.

If libenos.so* is in libenos/ (``make wheel`` puts it there, through
_build/make_wheel.py), it goes into the wheel, and the wheel is tagged
``py3-none-manylinux_X_Y_ARCH``: ARCH from the library's ELF header (so a
cross-built library gives a wheel for its target), X.Y the highest GLIBC_X.Y
symbol version it needs (``objdump -T``). Without it the wheel is
``py3-none-any`` and the library comes from ENOS_LIBRARY or the system.
"""

from __future__ import annotations

import base64
import hashlib
import io
import importlib.util
import os
import re
import shutil
import subprocess
import tarfile
import time
import zipfile
from typing import Any, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "libenos"


def _package_version() -> str:
    """``__version__`` of libenos/__init__.py (read as text: the backend does not import the package)."""
    path = os.path.join(ROOT, PACKAGE, "__init__.py")
    with open(path, encoding="utf-8") as f:
        m = re.search(r"""^__version__\s*=\s*["']([^"']+)["']\s*$""", f.read(), re.MULTILINE)
    if not m:
        raise RuntimeError(f"{path}: no __version__ = \"...\" line")
    return m.group(1)


def _project() -> Dict[str, Any]:
    p = _project_table()
    if "version" in p:  # a static version would be a second place to keep in step
        raise RuntimeError("pyproject.toml: [project] must not set version (it is dynamic: "
                           "__version__ of libenos/__init__.py)")
    p["version"] = _package_version()
    return p


def _project_table() -> Dict[str, Any]:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        raw = f.read()
    try:
        import tomllib  # Python 3.11+
        return dict(tomllib.loads(raw.decode("utf-8"))["project"])
    except ImportError:  # older Python: the simple `key = "string"` lines of [project]
        out: Dict[str, Any] = {}
        section = ""
        for line in raw.decode("utf-8").splitlines():
            m = re.match(r"^\[(.+)\]\s*$", line)
            if m:
                section = m.group(1)
                continue
            m = re.match(r'^(\w[\w-]*)\s*=\s*"(.*)"\s*$', line)
            if section == "project" and m:
                out[m.group(1)] = m.group(2)
        return out


def _name_version() -> Tuple[str, str]:
    p = _project()
    return p["name"], p["version"]


def _metadata() -> str:
    p = _project()
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {p['name']}",
        f"Version: {p['version']}",
    ]
    if p.get("description"):
        lines.append(f"Summary: {p['description']}")
    if p.get("requires-python"):
        lines.append(f"Requires-Python: {p['requires-python']}")
    lic = p.get("license")
    if isinstance(lic, dict) and lic.get("text"):
        lines.append(f"License: {lic['text']}")
    for c in p.get("classifiers", []) or []:
        lines.append(f"Classifier: {c}")
    body = ""
    readme = os.path.join(ROOT, "README.md")
    if os.path.exists(readme):
        lines.append("Description-Content-Type: text/markdown")
        with open(readme, encoding="utf-8") as f:
            body = f.read()
    return "\n".join(lines) + "\n\n" + body


def _package_files() -> List[str]:
    """Files of the package, relative to ROOT."""
    out = []
    pkg = os.path.join(ROOT, PACKAGE)
    for name in sorted(os.listdir(pkg)):
        path = os.path.join(pkg, name)
        if not os.path.isfile(path):
            continue
        if name.endswith(".py") or name == "py.typed" or name.startswith("libenos.so"):
            out.append(f"{PACKAGE}/{name}")
    return out


def _elf_module() -> Any:
    """libenos/_elf.py, loaded by path (the backend does not import the package)."""
    spec = importlib.util.spec_from_file_location("_libenos_elf", os.path.join(ROOT, PACKAGE, "_elf.py"))
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# binutils prefixes of the cross toolchains, for a library the host objdump cannot read.
_CROSS_OBJDUMP = {"aarch64": "aarch64-linux-gnu-objdump", "armv7l": "arm-linux-gnueabihf-objdump",
                  "i686": "i686-linux-gnu-objdump"}


def glibc_requirement(library: str, arch: str = "") -> Tuple[int, int]:
    """The highest GLIBC_X.Y symbol version ``library`` needs, from ``objdump -T``."""
    tried = []
    for tool in ("objdump", _CROSS_OBJDUMP.get(arch, "")):
        if not tool or not shutil.which(tool):
            continue
        r = subprocess.run([tool, "-T", library], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            tried.append(f"{tool}: {r.stderr.strip()}")
            continue
        versions = {(int(a), int(b)) for a, b in re.findall(r"\bGLIBC_(\d+)\.(\d+)", r.stdout)}
        if not versions:
            raise RuntimeError(f"{library}: objdump -T lists no GLIBC_ symbol version (not a glibc library?)")
        return max(versions)
    raise RuntimeError(f"cannot read the dynamic symbols of {library} (install binutils"
                       + (f" or {_CROSS_OBJDUMP[arch]}" if arch in _CROSS_OBJDUMP else "") + "): "
                       + "; ".join(tried))


def platform_tag(library: str) -> str:
    """The manylinux platform tag (PEP 600) of a wheel that bundles ``library``."""
    header = _elf_module().read_header(library)
    if header is None:
        raise RuntimeError(f"{library} is not an ELF file")
    major, minor = glibc_requirement(library, header.arch)
    return f"manylinux_{major}_{minor}_{header.arch}"


def _tag(files: List[str]) -> str:
    libs = [f for f in files if os.path.basename(f).startswith("libenos.so")]
    if libs:
        tags = {platform_tag(os.path.join(ROOT, f)) for f in libs}
        if len(tags) != 1:
            raise RuntimeError(f"the bundled libraries {libs} need different platform tags: {sorted(tags)}")
        return "py3-none-" + tags.pop()
    return "py3-none-any"


def _licence_files() -> List[Tuple[str, bytes]]:
    """LICENSE and NOTICE (python/ links them from the repository root), for the .dist-info."""
    out = []
    for name in ("LICENSE", "NOTICE"):
        path = os.path.join(ROOT, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                out.append((name, f.read()))
    return out


def _record_line(arcname: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return f"{arcname},sha256={digest},{len(data)}"


def _write_wheel(wheel_directory: str, contents: List[Tuple[str, bytes]], tag: str) -> str:
    name, version = _name_version()
    dist_info = f"{name}-{version}.dist-info"
    wheel_name = f"{name}-{version}-{tag}.whl"
    files = list(contents)
    files.append((f"{dist_info}/METADATA", _metadata().encode("utf-8")))
    files.append((f"{dist_info}/WHEEL", (
        "Wheel-Version: 1.0\n"
        "Generator: libenos_build (in-tree)\n"
        f"Root-Is-Purelib: {'true' if tag.endswith('-any') else 'false'}\n"
        f"Tag: {tag}\n").encode("ascii")))
    files.append((f"{dist_info}/top_level.txt", f"{PACKAGE}\n".encode("ascii")))
    files += [(f"{dist_info}/{name}", data) for name, data in _licence_files()]
    record = [_record_line(a, d) for a, d in files] + [f"{dist_info}/RECORD,,"]
    files.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode("utf-8")))
    os.makedirs(wheel_directory, exist_ok=True)
    path = os.path.join(wheel_directory, wheel_name)
    stamp = time.localtime(max(time.time(), 315532800))[:6]  # zip cannot store times before 1980
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for arcname, data in files:
            info = zipfile.ZipInfo(arcname, date_time=stamp)
            mode = 0o755 if os.path.basename(arcname).startswith("libenos.so") else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return wheel_name


# -- PEP 517 hooks -----------------------------------------------------------

def get_requires_for_build_wheel(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def get_requires_for_build_editable(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def build_wheel(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None,
                metadata_directory: Optional[str] = None) -> str:
    files = _package_files()
    contents = []
    for rel in files:
        # Follow symlinks (build/libenos.so -> libenos.so.1 -> libenos.so.X.Y.Z).
        with open(os.path.join(ROOT, rel), "rb") as f:
            contents.append((rel, f.read()))
    return _write_wheel(wheel_directory, contents, _tag(files))


def build_editable(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None,
                   metadata_directory: Optional[str] = None) -> str:
    """PEP 660: a wheel with a .pth file that puts this source tree on sys.path."""
    return _write_wheel(wheel_directory, [(f"__editable__.{PACKAGE}.pth", (ROOT + "\n").encode())],
                        "py3-none-any")


def build_sdist(sdist_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    name, version = _name_version()
    base = f"{name}-{version}"
    rels = ["pyproject.toml", "README.md", "LICENSE", "NOTICE", "_build/libenos_build.py",
            "_build/make_wheel.py"] + [
        f for f in _package_files() if not os.path.basename(f).startswith("libenos.so")]
    tests = os.path.join(ROOT, "tests")
    if os.path.isdir(tests):
        rels += [f"tests/{n}" for n in sorted(os.listdir(tests)) if n.endswith(".py")]
    pkg_info = _metadata().encode("utf-8")
    os.makedirs(sdist_directory, exist_ok=True)
    path = os.path.join(sdist_directory, f"{base}.tar.gz")
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for rel in rels:
            full = os.path.join(ROOT, rel)
            if os.path.exists(full):
                tar.add(full, arcname=f"{base}/{rel}", recursive=False)
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        info.size = len(pkg_info)
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(pkg_info))
    return os.path.basename(path)
