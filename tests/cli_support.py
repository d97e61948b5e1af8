"""What the command-line tests share: articles written for them, an in-process runner, fixtures."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from geomap.cli import cli

OUTPUTS = {"map.html", "incidents.geojson", "incidents.csv", "places.geojson", "summary.json"}
CONTRACT = {
    "doc",
    "start",
    "end",
    "text",
    "lang",
    "name",
    "place_id",
    "kind",
    "country",
    "lat",
    "lon",
    "source",
    "confidence",
}
GOOD = (
    "Le 14 septembre 2022\n"
    "Des affrontements ont éclaté à Kirants, faisant deux morts. "
    "Une frappe de drone a touché un poste près de Kut. Bakou a rejeté ces accusations.\n"
)
DATED = (
    "---\ntitle: Obus sur Berkaber\ndate: 2022-09-16\nurl: https://example.org/berkaber\n---\n"
    "Des obus sont tombés sur Berkaber mardi. Un cessez-le-feu est entré en vigueur à Chakaten.\n"
)
ENGLISH = (
    "---\ntitle: Shelling hits Sotk and Kut\ndate: 2022-09-14\n---\n"
    "YEREVAN, Sept. 14 - Azerbaijani forces shelled Sotk overnight, killing two soldiers, the defence "
    "ministry in Yerevan said on Wednesday. A drone strike also hit a post near Kut, it said. Baku said "
    "its troops had responded to provocations.\n"
)
HOSTILE = (
    '---\ntitle: "<img src=x onerror=alert(2)>"\nurl: "javascript:alert(3)"\n---\n'
    "Des combats ont éclaté à Kirants, où un témoin a écrit <script>alert(1)</script> sur un mur.\n"
)


def invoke(*args: str | Path, catch: bool = False) -> Result:
    """Run ``geomap ARGS`` in-process; stdout and stderr stay apart."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=catch)


def write(folder: Path, name: str, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def flat_xy(geometry) -> list[float]:
    """x0, y0, x1, y1, ... of a GeoSeries of points."""
    return [c for p in geometry for c in (p.x, p.y)]
