"""geomap.postgis against a real PostgreSQL 15 + PostGIS 3 server, started for this session.

The server runs from Debian's binaries (``postgresql-15``, ``postgresql-15-postgis-3``) in a
temporary folder, as the ``postgres`` user when the tests run as root (PostgreSQL refuses root),
on a free port of 127.0.0.1 and a unix socket in that folder. Local connections are trusted;
TCP connections of the role ``analyst`` need its password (for the secrets tests). Durability is
switched off (fsync, full pages): the server lives for one session. The tests are skipped only
when the PostgreSQL binaries are absent; a missing PostGIS fails them, as CI must have it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from geomap.areas import default_areas
from geomap.export import feature_collection, incident_features, place_features
from geomap.models import Incident, Mention, Place, Resolution
from geomap.postgis import (
    LAYERS,
    PostgisConnectionError,
    PostgisError,
    PostgisValueError,
    redact,
    write_postgis,
)
from geomap.theatre import shipped
from geomap.zones import BorderZones

PG_BIN = Path(os.environ.get("GEOMAP_PG_BIN", "/usr/lib/postgresql/15/bin"))
DB = "geomap_test"
PASSWORD = "S3cret-pw!pg"  # the analyst's; must appear in no message, log or traceback
NOWHERE = "postgresql://nobody@127.0.0.1:1/none"  # for what is checked before connecting


@dataclass(frozen=True, slots=True)
class Server:
    """A running test server: its socket folder and TCP port."""

    folder: Path
    port: int

    def url(self, db: str = DB, *, user: str = "postgres") -> str:
        """A URL through the unix socket (trusted)."""
        return f"postgresql://{user}@/{db}?host={self.folder}&port={self.port}"

    def tcp_url(self, password: str, db: str = DB) -> str:
        """The analyst's URL through TCP (password checked)."""
        return f"postgresql://analyst:{password}@127.0.0.1:{self.port}/{db}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    if not (PG_BIN / "initdb").exists():
        pytest.skip(
            f"PostgreSQL 15 binaries absent ({PG_BIN}/initdb): "
            "apt-get install postgresql-15 postgresql-15-postgis-3"
        )
    import psycopg

    folder = Path(tempfile.mkdtemp(prefix="geomap-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", _free_port()
    started = time.perf_counter()
    initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
    subprocess.run(
        _as_server_user([*initdb, "--locale=C.UTF-8", "--no-sync", "--no-instructions"]),
        check=True,
        capture_output=True,
    )
    (data / "pg_hba.conf").write_text(
        "local all all trust\nhost all analyst 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\n"
    )
    options = (
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
        " -c full_page_writes=off -c max_connections=20 -c shared_buffers=16MB"
    )
    pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log")]
    start = subprocess.run(_as_server_user([*pg_ctl, "-w", "-o", options, "start"]), capture_output=True)
    if start.returncode != 0:
        log = (folder / "server.log").read_text(errors="replace") if (folder / "server.log").exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"the test PostgreSQL server did not start: {start.stderr.decode()}{log}")
    running = Server(folder=folder, port=port)
    try:
        with psycopg.connect(running.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DB}")
            conn.execute(f"CREATE ROLE analyst LOGIN PASSWORD '{PASSWORD}'")
            conn.execute("CREATE DATABASE analyst_plain OWNER analyst")  # without PostGIS
            conn.execute(f"GRANT CREATE ON DATABASE {DB} TO analyst")
        with psycopg.connect(running.url(), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        print(f"\nPostgreSQL 15 + PostGIS ready in {time.perf_counter() - started:.1f} s")
        yield running
    finally:
        subprocess.run(_as_server_user([*pg_ctl, "-m", "fast", "stop"]), capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def db(server: Server) -> Iterator[Any]:
    """An autocommit connection to the test database, for reading back."""
    import psycopg

    with psycopg.connect(server.url(), autocommit=True) as conn:
        yield conn


@pytest.fixture
def schema(request: pytest.FixtureRequest) -> str:
    """A schema of this test's own, so tests do not see each other's tables."""
    return "t_" + request.node.name.lower().replace("[", "_").replace("]", "").replace("-", "_")[:50]


# --- data: real incidents placed in the real border zones -----------------------------------------

PLACES = {
    "tegh": Place("am-tegh", "Tegh", "village", "AM", 39.5578, 46.4817, admin1="Syunik"),
    "sotk": Place("am-sotk", "Sotk", "village", "AM", 40.2006, 45.8897, admin1="Gegharkunik"),
    "jermuk": Place("am-jermuk", "Jermuk", "town", "AM", 39.8406, 45.6728, admin1="Vayots Dzor"),
    "tavush": Place("am-berd", "Berd", "town", "AM", 40.8811, 45.3878, admin1="Tavush", geonames_id=616629),
    "yerevan": Place("am-yerevan", "Yerevan", "city", "AM", 40.1811, 44.5136, geonames_id=616052),
}


def _incident(n: int, place: str, sub: str, **changes: Any) -> Incident:
    incident = Incident(
        id=f"inc{n:03d}",
        doc=f"doc{n}",
        event_type="Battles" if sub == "Armed clash" else "Explosions/Remote violence",
        sub_event_type=sub,
        place=PLACES[place],
        mention=PLACES[place].name,
        geo_precision=1,
        evidence=f"Des tirs ont visé {PLACES[place].name}.",
        date=dt.date(2022, 9, 13 + n % 3),
        date_precision="day",
        fatalities=n % 4 or None,
        injured=None,
        actors=("Military Forces of Azerbaijan (2003-)", "Military Forces of Armenia (1991-)"),
        sources=({"doc": f"doc{n}", "url": f"https://example.org/{n}", "title": "Un titre"},),
        confidence=0.75,
    )
    return replace(incident, **changes)


INCIDENTS = [
    _incident(1, "tegh", "Shelling/artillery/missile attack"),
    _incident(2, "tegh", "Armed clash"),
    _incident(3, "sotk", "Shelling/artillery/missile attack"),
    _incident(4, "jermuk", "Drone strike"),
    _incident(5, "tavush", "Armed clash"),
    _incident(6, "yerevan", "Shelling/artillery/missile attack", geo_precision=3),
]


@pytest.fixture(scope="module")
def zoned() -> tuple[list[Incident], dict[str, Any]]:
    """The incidents placed in the real border zones, and zones.geojson for them."""
    areas = default_areas()
    assert areas is not None
    zones = BorderZones(areas, shipped()["armenia-azerbaijan"])
    placed = zones.place(INCIDENTS)
    return placed, zones.geojson(placed)


def _collections(incidents: list[Incident]) -> dict[str, Any]:
    resolutions = [
        Resolution(Mention(i.doc, 0, len(i.mention), i.mention, "gazetteer"), i.place, "gazetteer", 0.9)
        for i in incidents
    ]
    return {
        "incidents": feature_collection(incident_features(incidents), "incidents"),
        "places": feature_collection(place_features(resolutions), "places"),
    }


def _write(server: Server, schema: str, incidents: list[Incident], zones: Any, **options: Any):
    options.setdefault("run", "maps")
    return write_postgis(server.url(), schema=schema, zones=zones, **_collections(incidents), **options)


def _table_state(db: Any, schema: str, table: str) -> list[tuple[Any, ...]]:
    return db.execute(
        f"SELECT run, id, to_jsonb(t) - 'geom', ST_AsText(geom) FROM {schema}.\"{table}\" t ORDER BY run, id"
    ).fetchall()


# --- schema ------------------------------------------------------------------------------------

EXPECTED_TYPES = {
    "incidents": {
        "run": "text",
        "id": "text",
        "date": "date",
        "fatalities": "integer",
        "injured": "integer",
        "time_precision": "integer",
        "geo_precision": "integer",
        "confidence": "double precision",
        "distance_km": "double precision",
        "actors": "jsonb",
        "sources": "jsonb",
        "evidence": "text",
        "extra": "jsonb",
        "geom": "USER-DEFINED",
        "updated_at": "timestamp with time zone",
    },
    "places": {"geonames_id": "integer", "mentions": "integer", "doc_count": "integer", "forms": "jsonb"},
    "zones": {"label": "text", "inner_km": "double precision", "width_km": "double precision"},
    "sectors": {"units": "jsonb", "incidents": "integer", "length_km": "double precision"},
    "border": {"length_km": "double precision"},
}


def test_tables_typed_indexed_in_srid_4326(server: Server, db: Any, schema: str, zoned) -> None:
    incidents, zones = zoned
    report = _write(server, schema, incidents, zones)
    assert [t.table for t in report.tables] == [f"{schema}.geomap_{layer.name}" for layer in LAYERS]
    for layer, expected in EXPECTED_TYPES.items():
        columns = dict(
            db.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s",
                (schema, f"geomap_{layer}"),
            ).fetchall()
        )
        assert {name: columns.get(name) for name in expected} == expected, layer
    geometry = db.execute(
        "SELECT f_table_name, type, srid FROM geometry_columns WHERE f_table_schema = %s ORDER BY 1",
        (schema,),
    ).fetchall()
    assert geometry == [
        ("geomap_border", "MULTILINESTRING", 4326),
        ("geomap_incidents", "POINT", 4326),
        ("geomap_places", "POINT", 4326),
        ("geomap_sectors", "MULTIPOLYGON", 4326),
        ("geomap_zones", "MULTIPOLYGON", 4326),
    ]
    gist = db.execute(
        "SELECT tablename FROM pg_indexes WHERE schemaname = %s AND indexdef LIKE '%%USING gist (geom)%%'",
        (schema,),
    ).fetchall()
    assert sorted(t for (t,) in gist) == sorted(f"geomap_{layer.name}" for layer in LAYERS)
    assert db.execute("SELECT count(*) FROM pg_description WHERE description LIKE 'geomap: %%'").fetchone()[0]
    keys = db.execute(
        "SELECT c.conrelid::regclass::text, c.contype, array_agg(a.attname::text ORDER BY a.attname) "
        "FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) "
        "WHERE c.connamespace = %s::regnamespace GROUP BY 1, 2",
        (schema,),
    ).fetchall()
    assert sorted(keys) == sorted(
        (f"{schema}.geomap_{layer.name}", kind, columns)
        for layer in LAYERS
        for kind, columns in (("p", ["fid"]), ("u", ["id", "run"]))
    )


OGR_GEOMETRY = {"Point": "Point", "MultiPolygon": "Multi Polygon", "MultiLineString": "Multi Line String"}


@pytest.mark.skipif(
    shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo absent (apt-get install gdal-bin)"
)
def test_ogrinfo_reads_the_tables(server: Server, schema: str, zoned) -> None:
    incidents, zones = zoned
    _write(server, schema, incidents, zones)
    source = f"PG:host={server.folder} port={server.port} dbname={DB} user=postgres schemas={schema}"
    for layer in LAYERS:
        shown = subprocess.run(
            ["ogrinfo", "-ro", "-so", source, f"geomap_{layer.name}"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "Warning" not in shown.stdout + shown.stderr and "ERROR" not in shown.stderr, shown.stderr
        assert "FID Column = fid" in shown.stdout
        assert f"Geometry: {OGR_GEOMETRY[layer.geometry]}\n" in shown.stdout
        if layer.name == "incidents":
            fields = dict(line.split(": ", 1) for line in shown.stdout.splitlines() if ": " in line)
            assert fields["date"].startswith("Date ") and fields["fatalities"].startswith("Integer ")
            assert fields["confidence"].startswith("Real ") and fields["actors"].startswith("String(JSON)")
            assert "Feature Count: 6" in shown.stdout


SQL_OF_FIELD_TYPE = {
    "str": "text",
    "int": "integer",
    "float": "double precision",
    "date": "date",
    "json": "jsonb",
}


def test_column_types_agree_with_the_files() -> None:
    """Every column has the type its attribute has in every other output (export.FIELD_TYPES)."""
    from geomap import export

    field_types = getattr(export, "FIELD_TYPES", None)
    if field_types is None:
        pytest.skip("export.FIELD_TYPES not there yet")
    for layer in LAYERS:
        for name, sql_type in layer.columns:
            assert SQL_OF_FIELD_TYPE[field_types[name]] == sql_type, (layer.name, name)


# --- runs ----------------------------------------------------------------------------------------


def test_rerun_upserts_and_deletes(server: Server, db: Any, schema: str, zoned) -> None:
    incidents, zones = zoned
    _write(server, schema, incidents, zones)
    before = _table_state(db, schema, "geomap_incidents")
    fewer = [replace(incidents[0], fatalities=7), incidents[1], incidents[2]]
    report = _write(server, schema, fewer, zones)
    table = report.tables[0]
    assert (table.rows, table.inserted, table.updated, table.deleted) == (3, 0, 1, 3)
    after = _table_state(db, schema, "geomap_incidents")
    assert [r[1] for r in after] == ["inc001", "inc002", "inc003"]
    assert after[0][2]["fatalities"] == 7 and after[0][2]["updated_at"] != before[0][2]["updated_at"]
    assert after[1:] == before[1:3]  # untouched rows keep their updated_at
    places = report.tables[1]
    assert (places.rows, places.deleted) == (2, 3)  # the places no incident names any more
    again = _write(server, schema, fewer, zones)
    assert all((t.inserted, t.updated, t.deleted) == (0, 0, 0) for t in again.tables)


def test_existing_tables_gain_columns_or_are_refused(server: Server, db: Any, schema: str, zoned) -> None:
    incidents, zones = zoned
    _write(server, schema, incidents, zones)
    db.execute(f"ALTER TABLE {schema}.geomap_incidents DROP COLUMN injured")  # a table of an older geomap
    collections = _collections([replace(incidents[0], injured=2)])
    collections["incidents"]["features"][0]["properties"]["tags"] = ["new property"]
    write_postgis(server.url(), run="maps", schema=schema, zones=zones, **collections)
    row = db.execute(f"SELECT injured, extra FROM {schema}.geomap_incidents").fetchall()
    assert row == [(2, {"tags": ["new property"]})]
    db.execute(f"ALTER TABLE {schema}.geomap_places ALTER COLUMN mentions TYPE double precision")
    with pytest.raises(PostgisError, match=rf"{schema}.geomap_places.mentions is double precision"):
        _write(server, schema, incidents, zones)


def test_run_keys_side_by_side(server: Server, db: Any, schema: str, zoned) -> None:
    incidents, zones = zoned
    _write(server, schema, incidents[:4], zones, run="alice")
    _write(server, schema, incidents[2:], zones, run="bob")
    bob = _table_state(db, schema, "geomap_incidents")[4:]
    report = _write(server, schema, incidents[:1], None, run="alice")
    assert report.tables[0].deleted == 3 and report.tables[4].deleted == 1  # alice's border too
    counts = db.execute(
        f"SELECT run, count(*) FROM {schema}.geomap_incidents GROUP BY run ORDER BY run"
    ).fetchall()
    assert counts == [("alice", 1), ("bob", 4)]
    assert _table_state(db, schema, "geomap_incidents")[1:] == bob
    assert db.execute(f"SELECT run FROM {schema}.geomap_border").fetchall() == [("bob",)]


def test_concurrent_runs_wait_for_each_other(server: Server, db: Any, schema: str, zoned) -> None:
    incidents, zones = zoned
    runs = ["a", "b", "c", "d"]
    with ThreadPoolExecutor(len(runs)) as pool:  # all create the same tables at once
        reports = list(pool.map(lambda run: _write(server, schema, incidents, zones, run=run), runs))
    assert [r.tables[0].inserted for r in reports] == [6, 6, 6, 6]
    counts = db.execute(f"SELECT run, count(*) FROM {schema}.geomap_incidents GROUP BY 1 ORDER BY 1")
    assert counts.fetchall() == [(run, 6) for run in runs]


def test_lock_held_elsewhere_times_out(server: Server, schema: str, zoned) -> None:
    import psycopg

    incidents, zones = zoned
    with psycopg.connect(server.url()) as other, other.transaction():
        other.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"geomap:{schema}.geomap_",))
        with pytest.raises(PostgisError, match=r"lock timeout .*held the tables for 0\.3 s"):
            _write(server, schema, incidents, zones, lock_timeout=0.3)


def test_one_transaction_failure_changes_nothing(server: Server, db: Any, schema: str, zoned) -> None:
    incidents, zones = zoned
    _write(server, schema, incidents, zones)
    tables = [f"geomap_{layer.name}" for layer in LAYERS]
    before = {t: _table_state(db, schema, t) for t in tables}
    # the last table refuses rows, after the others were upserted and pruned in the same transaction
    db.execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'refused by the test'; END $$"
    )
    db.execute(
        f"CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON {schema}.geomap_border FOR EACH ROW "
        "EXECUTE FUNCTION refuse()"
    )
    try:
        with pytest.raises(PostgisError, match="nothing was changed: refused by the test"):
            changed = [replace(i, fatalities=99) for i in incidents[:2]]
            _write(server, schema, changed, {**zones, "features": zones["features"][:3]}, run="maps")
    finally:
        db.execute(f"DROP TRIGGER refuse ON {schema}.geomap_border")
        db.execute("DROP FUNCTION refuse()")
    assert {t: _table_state(db, schema, t) for t in tables} == before


def test_failure_midway_creates_no_table(server: Server, db: Any, schema: str, zoned) -> None:
    incidents, zones = zoned
    db.execute(f"CREATE SCHEMA {schema}")
    # a relation named as the border's index: the last CREATE INDEX of the run fails
    db.execute(f"CREATE TABLE {schema}.geomap_border_geom_idx (x int)")
    with pytest.raises(PostgisError, match=r"nothing was changed: .*already exists"):
        _write(server, schema, incidents, zones)
    tables = db.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)).fetchall()
    assert tables == [("geomap_border_geom_idx",)]


@pytest.mark.parametrize(
    "coordinates", [[["45.0", "40.0"]], [[45.0]], [[45.0, float("nan")]], [], [[True, False]]]
)
def test_coordinates_checked(coordinates: Any) -> None:
    broken = {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "LineString", "coordinates": coordinates},
    }
    with pytest.raises(PostgisValueError, match="border 'border': coordinates"):
        write_postgis(NOWHERE, run="maps", incidents=None, places=None, border=[broken])


# --- text is data --------------------------------------------------------------------------------

HOSTILE = [
    "'); DROP TABLE geomap_incidents; --",
    'Robert"); DELETE FROM geomap_places; --',
    "O'Brien \\' $$ $1 %s %(x)s {0} ; COMMIT;",
    '=HYPERLINK("http://evil") <script>alert(1)</script>',
    "Zéro\u00a0largeur\u200b et RTL \u202e et ligne\nnouvelle\r\n",
]


def test_hostile_text_stored_verbatim(server: Server, db: Any, schema: str, zoned) -> None:
    incidents, zones = zoned
    hostile = [
        replace(
            incidents[n],
            evidence=text,
            mention=text,
            actors=(text, "ok"),
            sources=({"doc": text, "url": None, "title": text},),
        )
        for n, text in enumerate(HOSTILE)
    ]
    nul = replace(incidents[5], evidence="avant\x00après", actors=("a\x00b",))
    run = "run'); DROP SCHEMA public CASCADE; --"
    report = _write(server, schema, [*hostile, nul], zones, run=run)
    assert report.run == run
    stored = {
        key: (evidence, mention, actors, sources)
        for key, evidence, mention, actors, sources in db.execute(
            f"SELECT id, evidence, mention, actors, sources FROM {schema}.geomap_incidents WHERE run = %s",
            (run,),
        ).fetchall()
    }
    for incident, text in zip(hostile, HOSTILE, strict=True):
        assert stored[incident.id] == (text, text, [text, "ok"], [{"doc": text, "url": None, "title": text}])
    assert stored[nul.id][0] == "avant\ufffdaprès" and stored[nul.id][2] == ["a\ufffdb"]
    tables = db.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", (schema,)).fetchone()[0]
    assert tables == len(LAYERS)
    assert db.execute("SELECT count(*) FROM pg_namespace WHERE nspname = 'public'").fetchone() == (1,)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("schema", "public; DROP TABLE x"),
        ("schema", "Analysis"),
        ("schema", ""),
        ("prefix", 'geo"map_'),
        ("prefix", "x" * 41),
        ("run", ""),
        ("run", "a\nb"),
    ],
)
def test_names_are_checked_before_connecting(option: str, value: str) -> None:
    url = NOWHERE
    options = {"schema": "public", "prefix": "geomap_", "run": "maps", option: value}
    with pytest.raises(PostgisValueError):
        write_postgis(url, incidents=None, places=None, **options)


def test_own_schema_and_prefix(server: Server, db: Any, zoned) -> None:
    incidents, zones = zoned
    report = write_postgis(
        server.url(), run="maps", schema="analysis_2024", prefix="", zones=zones, **_collections(incidents)
    )
    assert report.tables[0].table == "analysis_2024.incidents"
    assert db.execute("SELECT count(*) FROM analysis_2024.incidents").fetchone() == (6,)


# --- connections and secrets ---------------------------------------------------------------------


def _no_password(exc: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    text = "".join(traceback.format_exception(exc)) + repr(exc) + caplog.text
    assert PASSWORD not in text and "wrong-" + PASSWORD not in text


def test_wrong_password(server: Server, caplog: pytest.LogCaptureFixture, zoned) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PostgisConnectionError) as caught:
        write_postgis(server.tcp_url("wrong-" + PASSWORD), run="maps", **_collections(zoned[0]))
    message = str(caught.value)
    assert f"'{DB}'" in message and f"127.0.0.1:{server.port}" in message and "'analyst'" in message
    assert "password authentication failed" in message
    _no_password(caught.value, caplog)


def test_right_password_and_redacted_report(server: Server, caplog: pytest.LogCaptureFixture, zoned) -> None:
    caplog.set_level(logging.INFO, logger="geomap")
    report = write_postgis(
        server.tcp_url(PASSWORD), run="analyst", schema="analyst_space", **_collections(zoned[0])
    )
    assert report.url == f"postgresql://analyst:***@127.0.0.1:{server.port}/{DB}"
    assert PASSWORD not in str(report.summary()) and PASSWORD not in caplog.text
    assert report.summary()["tables"]["analyst_space.geomap_incidents"]["inserted"] == 6


def test_unreachable_server(caplog: pytest.LogCaptureFixture) -> None:
    port = _free_port()  # nothing listens there
    url = f"postgresql://analyst:{PASSWORD}@127.0.0.1:{port}/geomap"
    started = time.perf_counter()
    with pytest.raises(PostgisConnectionError, match=f"'geomap' at 127.0.0.1:{port}") as caught:
        write_postgis(url, run="maps", incidents=None, places=None)
    assert time.perf_counter() - started < 5
    _no_password(caught.value, caplog)


def test_invalid_url_is_redacted() -> None:
    with pytest.raises(PostgisValueError) as caught:
        write_postgis(f"postgresql://u:{PASSWORD}@h/db?bogus=1", run="maps", incidents=None, places=None)
    assert "postgresql://u:***@h/db?bogus=1" in str(caught.value) and PASSWORD not in str(caught.value)


def test_postgis_not_enabled_and_not_allowed(server: Server) -> None:
    url = server.tcp_url(PASSWORD, db="analyst_plain")
    with pytest.raises(
        PostgisError, match=r"PostGIS is not enabled in database 'analyst_plain'.*CREATE EXTENSION"
    ):
        write_postgis(url, run="maps", incidents=None, places=None)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://bob:p%40ss:w@db.example.org:5432/gis", "postgresql://bob:***@db.example.org:5432/gis"),
        (
            "postgres://bob@db/gis?password=x&sslmode=require",
            "postgres://bob@db/gis?password=***&sslmode=require",
        ),
        (
            "postgresql://bob:a@b@h1:5432,h2/gis?sslpassword=k",
            "postgresql://bob:***@h1:5432,h2/gis?sslpassword=***",
        ),
        ("postgresql://bob@db/gis", "postgresql://bob@db/gis"),
        ("postgresql://bob:pa/ss@x@h/gis", "postgresql://bob:***@h/gis"),
        ("postgresql://h:5432/gis?user=a@b&password=", "postgresql://h:5432/gis?user=a@b&password=***"),
        ("postgresql:///gis?host=/run/postgresql", "postgresql:///gis?host=/run/postgresql"),
        ("host=db user=bob password=s3cr3t dbname=gis", "host=db user=bob password=*** dbname=gis"),
        ("host=db password = 'a b\\' c' dbname=gis", "host=db password = *** dbname=gis"),
    ],
)
def test_redact(url: str, shown: str) -> None:
    assert redact(url) == shown


# --- what an analyst sees ------------------------------------------------------------------------


def test_psql_query(server: Server, schema: str, zoned) -> None:
    incidents, zones = zoned
    _write(server, schema, incidents, zones, run="seeds")
    query = (
        "SELECT sub_event_type, count(*) AS incidents, sum(fatalities) AS fatalities, "
        "ST_AsText(ST_Centroid(ST_Collect(geom)), 3) AS centroid "
        f"FROM {schema}.geomap_incidents WHERE run = 'seeds' GROUP BY 1 ORDER BY 2 DESC, 1"
    )
    shown = subprocess.run(
        [
            str(PG_BIN / "psql"),
            "-X",
            "-h",
            str(server.folder),
            "-p",
            str(server.port),
            "-U",
            "postgres",
            "-d",
            DB,
            "-c",
            query,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    print(shown)
    lines = shown.strip().splitlines()
    assert lines[0].split("|")[0].strip() == "sub_event_type" and lines[-1] == "(3 rows)"
    assert "Shelling/artillery/missile attack |         3 |" in shown and "POINT(" in shown


def test_geomap_build_writes_the_database_before_the_files(server: Server, db: Any, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from geomap.cli import cli

    article = tmp_path / "tirs.txt"
    article.write_text("Des obus ont visé le village de Sotk mardi ; deux soldats ont été blessés.", "utf-8")
    out = tmp_path / "carte"
    url = server.tcp_url(PASSWORD)
    done = CliRunner().invoke(
        cli, ["build", str(article), "--out", str(out), "--offline", "--db", url, "--db-schema", "cli_run"]
    )
    assert done.exit_code == 0, done.output
    rows = db.execute("SELECT run, place FROM cli_run.geomap_incidents").fetchall()
    assert rows and {run for run, _ in rows} == {"carte"}  # the run key defaults to OUT's name
    written = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert written["database"]["tables"]["cli_run.geomap_incidents"]["inserted"] == len(rows)
    assert PASSWORD not in (out / "summary.json").read_text(encoding="utf-8")
    assert PASSWORD not in done.output
