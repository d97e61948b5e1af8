"""Count false incidents on the negative set: articles that report no incident at all.

Every incident geomap finds in these articles is false, so the count needs no gold file. The target of
issue #13 is at most one false incident per 20 articles.

    geomap build benchmarks/negatives2/articles --out /tmp/neg2 --offline --full -q
    python benchmarks/negatives2/count.py --incidents /tmp/neg2/incidents.geojson

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ARTICLES = Path(__file__).resolve().parent / "articles"
SUFFIXES = (".txt", ".md")
EXCERPT_CHARS = 160
TARGET_PER_20 = 1.0


@dataclass(frozen=True, slots=True)
class FalseIncident:
    """One incident found in a negative article: who raised it, where, and on which words."""

    doc: str
    event_type: str
    sub_event_type: str
    place: str
    mention: str
    evidence: str


def article_ids(folder: Path) -> list[str]:
    """The document ids geomap gives the articles: their file names without the suffix."""
    return sorted(p.stem for p in folder.iterdir() if p.suffix in SUFFIXES)


def excerpt(text: str, *, limit: int = EXCERPT_CHARS) -> str:
    """The evidence on one line, cut to `limit` characters so the listing stays readable."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def read_incidents(path: Path) -> list[FalseIncident]:
    """The incidents of an incidents.geojson, one per source article (a merged incident counts once,
    under its first document, but every document it cites is listed)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    found: list[FalseIncident] = []
    for feature in data.get("features", []):
        props = feature.get("properties") or {}
        found.append(
            FalseIncident(
                doc=str(props.get("doc") or "?"),
                event_type=str(props.get("event_type") or "?"),
                sub_event_type=str(props.get("sub_event_type") or "?"),
                place=str(props.get("place") or "?"),
                mention=str(props.get("mention") or ""),
                evidence=excerpt(str(props.get("evidence") or "")),
            )
        )
    return found


def report(*, incidents: list[FalseIncident], articles: list[str]) -> str:
    """The figures and the per-article listing as plain text."""
    n_articles = len(articles)
    n_false = len(incidents)
    rate = 20 * n_false / n_articles if n_articles else 0.0
    by_doc: dict[str, list[FalseIncident]] = defaultdict(list)
    for incident in incidents:
        by_doc[incident.doc].append(incident)
    verdict = "met" if rate <= TARGET_PER_20 else "NOT met"
    lines = [
        f"articles: {n_articles}",
        f"false incidents: {n_false}",
        f"articles with a false incident: {len(by_doc)}",
        f"false incidents per 20 articles: {rate:.2f} (target <= {TARGET_PER_20:g}: {verdict})",
    ]
    unknown = sorted(set(by_doc) - set(articles))
    if unknown and articles:
        lines.append(f"warning: incidents from documents not in the set: {', '.join(unknown)}")
    for doc in sorted(by_doc):
        lines.append("")
        lines.append(f"{doc} ({len(by_doc[doc])})")
        for incident in by_doc[doc]:
            lines.append(
                f"  {incident.event_type} / {incident.sub_event_type} @ {incident.place} [{incident.mention}]"
            )
            lines.append(f"    {incident.evidence}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=Path, required=True, help="OUT/incidents.geojson")
    parser.add_argument("--articles", type=Path, default=ARTICLES, help="folder of the negative articles")
    args = parser.parse_args(argv)
    if not args.incidents.is_file():
        parser.error(f"no such file: {args.incidents}")
    print(report(incidents=read_incidents(args.incidents), articles=article_ids(args.articles)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
