"""Zip archives of a process version: write one for download, read an uploaded one without trusting it.

An upload is refused as a whole, with a reason in Dutch, for: a file that is not a zip, more entries than anyone
needs, names outside the allowed layout (absolute paths, `..`, backslashes, links, unknown files), encrypted entries,
a file or a total larger than the limits, or a compression ratio of a zip bomb. Sizes are checked on what is
actually read, not on what the archive's headers claim.
"""
from __future__ import annotations

import io
import json
import stat
import zipfile
from typing import Any

from ..errors import DiagramError
from .filenames import check_filename

MAX_ENTRIES = 300
MAX_TOTAL = 10_000_000
MAX_RATIO = 100  # uncompressed / compressed, for entries above 100 kB
SCENARIO_DIR = "scenarios/"


class UnsafeZip(DiagramError):
    def __init__(self, reason: str, name: str = "(zip)"):
        super().__init__(name, None, reason)


def write_zip(files: dict[str, bytes], scenarios: dict[str, dict[str, Any]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(files.items()):
            archive.writestr(name, content)
        for name, scenario in sorted(scenarios.items()):
            archive.writestr(SCENARIO_DIR + name, json.dumps(scenario, ensure_ascii=False, indent=2) + "\n")
    return buffer.getvalue()


def read_zip(data: bytes, max_file_bytes: int) -> tuple[dict[str, bytes], dict[str, dict[str, Any]]]:
    """(files, scenarios) of an uploaded zip, or UnsafeZip/DiagramError; nothing else is read."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise UnsafeZip("dit is geen (leesbaar) zip-bestand") from None
    if len(infos) > MAX_ENTRIES:
        raise UnsafeZip(f"het zip-bestand bevat {len(infos)} bestanden; het maximum is {MAX_ENTRIES}")
    files: dict[str, bytes] = {}
    scenarios: dict[str, dict[str, Any]] = {}
    total = 0
    for info in infos:
        name = info.filename
        if name.endswith("/") and info.file_size == 0:
            continue  # a folder entry
        if "\\" in name or name.startswith("/") or ".." in name.split("/") or ":" in name or "\0" in name:
            raise UnsafeZip(f"onveilige bestandsnaam in het zip-bestand: {name[:120]!r}", name[:120])
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UnsafeZip(f"{name}: een link is niet toegestaan", name)
        if info.flag_bits & 0x1:
            raise UnsafeZip(f"{name}: versleutelde bestanden worden niet geaccepteerd", name)
        is_scenario = name.startswith(SCENARIO_DIR)
        try:
            check_filename(name[len(SCENARIO_DIR):] if is_scenario else name, scenario=is_scenario)
        except DiagramError:
            raise UnsafeZip(f"{name[:120]!r} hoort niet in een procesversie (toegestaan: naam.bpmn, naam.dmn, "
                            "forms/naam.json en scenarios/naam.json)", name[:120]) from None
        if name in files or name[len(SCENARIO_DIR):] in scenarios:
            raise UnsafeZip(f"{name} komt twee keer voor", name)
        if info.file_size > max_file_bytes:
            raise UnsafeZip(f"{name} is {info.file_size} bytes; het maximum per bestand is {max_file_bytes}", name)
        if info.file_size > 100_000 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise UnsafeZip(f"{name} is verdacht sterk gecomprimeerd (zip-bom)", name)
        try:
            with archive.open(info) as handle:
                content = handle.read(max_file_bytes + 1)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError) as exc:
            raise UnsafeZip(f"{name} kan niet worden gelezen ({type(exc).__name__})", name) from None
        if len(content) > max_file_bytes:
            raise UnsafeZip(f"{name} is groter dan het maximum van {max_file_bytes} bytes per bestand", name)
        total += len(content)
        if total > MAX_TOTAL:
            raise UnsafeZip(f"de bestanden samen zijn groter dan {MAX_TOTAL} bytes")
        if is_scenario:
            try:
                scenario = json.loads(content.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise UnsafeZip(f"{name} is geen geldige JSON", name) from None
            scenarios[name[len(SCENARIO_DIR):]] = scenario
        else:
            files[name] = content
    if not any(n.endswith(".bpmn") for n in files):
        raise UnsafeZip("het zip-bestand bevat geen .bpmn-bestand")
    return files, scenarios
