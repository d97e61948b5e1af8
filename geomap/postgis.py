"""Write a run's layers into PostGIS tables, so that several analysts can point QGIS at one database.

The layers are the very FeatureCollections the files are made of (``export.incident_features``,
``export.place_features``, ``zones.geojson``): one source of truth for the properties. Each layer has
its table, ``<prefix>incidents``, ``<prefix>places``, ``<prefix>zones``, ``<prefix>sectors`` and
``<prefix>border`` (prefix "geomap_", schema "public" unless told), whose columns are typed as in
every other output (dates DATE, counts and ids INTEGER, confidence and distances DOUBLE PRECISION,
lists and objects JSONB, geometry ``geometry(Point|MultiPolygon|MultiLineString, 4326)`` with a GiST
index); a property that no column holds (one added after the table was made) lands in ``extra``.

**Run keys.** One database serves several analysts and several projects, so every row carries the
``run`` key it was written under. A run replaces what *its* key produced last time and nothing else:
rows are upserted by their stable id (an incident's id, a place's id, a band's label, a sector's
name, "border"), rows of the same key that this run no longer produces are deleted, rows of other
keys are never read nor touched. The CLI's default key is the output folder's name (``maps``);
analysts sharing a database pass their own (``--db-run alice-syunik``) and filter on it in QGIS
(``"run" = 'alice-syunik'``). ``(run, id)`` is a unique constraint, what upserts go by; the primary
key is an integer ``fid`` that upserts keep (GDAL reads no multi-column primary key, QGIS is fastest
with an integer one).

**One transaction.** Tables, upserts and deletes of a run are committed together or not at all (a
failure midway leaves every table as it was), under a transaction-level advisory lock per schema and
prefix, so two runs writing at the same time wait for each other instead of interleaving.

**Text is data.** Every value travels as a server-side bound parameter, never formatted into SQL;
the only names put into SQL (schema, table prefix) are validated (lower-case ASCII letters, digits,
``_``) and quoted with ``psycopg.sql``. PostgreSQL text cannot hold U+0000 (nor can JSONB), so a NUL
or a lone surrogate in article text is stored as U+FFFD; everything else is stored verbatim.

**Secrets.** Messages and reports name the host, database and user, never the password: use
:func:`redact` for any URL that may reach a log or ``summary.json``. Without a password in the URL,
libpq reads ``PGPASSWORD`` or ``~/.pgpass``, which keeps it off the command line.

psycopg 3 is an optional dependency (``pip install 'geomap[postgis]'``): the maintained PostgreSQL
driver, with binary wheels (no compiler, no libpq-dev) and server-side parameter binding.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from geomap.errors import GeomapError

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("geomap")

SRID = 4326
DEFAULT_SCHEMA = "public"
DEFAULT_PREFIX = "geomap_"
CONNECT_TIMEOUT_S = 10
LOCK_TIMEOUT_S = 120
MASK = "***"
MAX_RUN_KEY = 200

# Names that reach SQL: lower-case so that nobody has to quote them in QGIS or psql; a prefix short
# enough for the longest table and index name to fit PostgreSQL's 63 bytes.
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}\Z")
_PREFIX = re.compile(r"(?:[a-z_][a-z0-9_]{0,39})?\Z")
# What PostgreSQL text and JSONB cannot hold: NUL, and lone surrogates (not encodable as UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


class PostgisError(GeomapError):
    """Writing to PostGIS failed; the message names the database, never the password."""


class PostgisConnectionError(PostgisError, ConnectionError):
    """The database cannot be reached, or refuses the connection (wrong password, no such database)."""


class PostgisValueError(PostgisError, ValueError):
    """An invalid setting (schema, prefix, run key, URL) or a feature value that its column cannot hold."""


@dataclass(frozen=True, slots=True)
class Layer:
    """One table: the features it holds, how their id is found and the typed columns of their properties."""

    name: str  # the table's name after the prefix
    geometry: str  # PostGIS geometry type of the ``geom`` column
    columns: tuple[tuple[str, str], ...]  # (property, SQL type), in table order
    id_property: str | None  # the property holding the stable id, when the feature has no "id"
    kind: str | None  # the ``kind`` property of the zones.geojson features that belong here
    description: str


TEXT, DATE, INTEGER, REAL, JSONB = "text", "date", "integer", "double precision", "jsonb"

LAYERS: tuple[Layer, ...] = (
    Layer(
        name="incidents",
        geometry="Point",
        columns=(
            ("doc", TEXT),
            ("event_type", TEXT),
            ("sub_event_type", TEXT),
            ("date", DATE),
            ("time_precision", INTEGER),
            ("date_precision", TEXT),
            ("place", TEXT),
            ("place_id", TEXT),
            ("mention", TEXT),
            ("geo_precision", INTEGER),
            ("admin1", TEXT),
            ("country", TEXT),
            ("fatalities", INTEGER),
            ("injured", INTEGER),
            ("actors", JSONB),
            ("evidence", TEXT),
            ("sources", JSONB),
            ("confidence", REAL),
            ("distance_km", REAL),
            ("zone", TEXT),
            ("sector", TEXT),
        ),
        id_property="id",
        kind=None,
        description="geomap: incidents reported by news articles, one point each (ACLED-style fields).",
    ),
    Layer(
        name="places",
        geometry="Point",
        columns=(
            ("name", TEXT),
            ("kind", TEXT),
            ("country", TEXT),
            ("admin1", TEXT),
            ("geonames_id", INTEGER),
            ("source", TEXT),
            ("mentions", INTEGER),
            ("doc_count", INTEGER),
            ("docs", JSONB),
            ("forms", JSONB),
        ),
        id_property="place_id",
        kind=None,
        description="geomap: places named in the articles; id is the gazetteer's place id. "
        "Place data: GeoNames (CC BY 4.0), Natural Earth.",
    ),
    Layer(
        name="zones",
        geometry="MultiPolygon",
        columns=(("label", TEXT), ("inner_km", REAL), ("width_km", REAL)),
        id_property="label",
        kind="zone",
        description="geomap: distance bands on both sides of the theatre's borders.",
    ),
    Layer(
        name="sectors",
        geometry="MultiPolygon",
        columns=(
            ("name", TEXT),
            ("border", TEXT),
            ("units", JSONB),
            ("unit_1", TEXT),
            ("unit_2", TEXT),
            ("length_km", REAL),
            ("incidents", INTEGER),
        ),
        id_property="name",
        kind="sector",
        description="geomap: border sectors (pairs of admin-1 units facing each other) and their footprints.",
    ),
    Layer(
        name="border",
        geometry="MultiLineString",
        columns=(("border", TEXT), ("name", TEXT), ("length_km", REAL)),
        id_property=None,
        kind="border",
        description="geomap: the theatre's borders, one line per pair of countries (Natural Earth).",
    ),
)
_BY_KIND = {layer.kind: layer.name for layer in LAYERS if layer.kind}
# GeoJSON types each column accepts; single parts are stored as one-part multis (ST_Multi).
_GEOJSON_TYPES = {
    "Point": {"Point"},
    "MultiPolygon": {"Polygon", "MultiPolygon"},
    "MultiLineString": {"LineString", "MultiLineString"},
}
# What information_schema.columns.data_type says of each SQL type written above.
_DATA_TYPES = {TEXT: "text", DATE: "date", INTEGER: "integer", REAL: "double precision", JSONB: "jsonb"}


@dataclass(frozen=True, slots=True)
class TableReport:
    """What one run did to one table (only its own run key's rows)."""

    table: str  # schema-qualified
    rows: int  # rows the run produced
    inserted: int
    updated: int  # rows whose values changed; the others were left untouched
    deleted: int  # rows of this run key that the run no longer produces


@dataclass(frozen=True, slots=True)
class PostgisReport:
    """What :func:`write_postgis` committed; ``url`` has its password masked."""

    url: str
    schema: str
    prefix: str
    run: str
    postgis: str  # the server's PostGIS version
    tables: tuple[TableReport, ...]
    seconds: float

    def summary(self) -> dict[str, Any]:
        """The report as JSON-ready data for summary.json (no password in it)."""
        return {
            "url": self.url,
            "schema": self.schema,
            "run": self.run,
            "postgis": self.postgis,
            "tables": {
                t.table: {"rows": t.rows, "inserted": t.inserted, "updated": t.updated, "deleted": t.deleted}
                for t in self.tables
            },
            "seconds": self.seconds,
        }


# --- secrets ---------------------------------------------------------------------------------------

# A password runs to the last "@" before the query, so that one holding an unescaped "/" or "@"
# (which libpq would misread) is masked whole all the same.
_URI = re.compile(
    r"(?P<scheme>postgres(?:ql)?://)(?:(?P<user>[^:@/?#]*)(?P<secret>:[^?#]*)?(?P<at>@))?(?P<rest>.*)\Z",
    re.I | re.S,
)
_URI_SECRET = re.compile(r"(?P<key>[?&](?:ssl)?password=)[^&#]*", re.I)
_DSN_SECRET = re.compile(r"(?P<key>\b(?:ssl)?password\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^\s']\S*)", re.I)


def redact(url: str) -> str:
    """``url`` with every password masked, in the URL form (``postgresql://user:***@host/db``, a
    ``?password=`` parameter) and the key=value form (``password=***``): what logs may show."""
    match = _URI.match(url)
    if match is None:
        return _DSN_SECRET.sub(lambda m: m["key"] + MASK, url)
    userinfo = f"{match['user']}{':' + MASK if match['secret'] else ''}@" if match["at"] else ""
    return match["scheme"] + userinfo + _URI_SECRET.sub(lambda m: m["key"] + MASK, match["rest"])


def _scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` on one line, with each secret masked (should a driver ever quote one)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return " ".join(text.split())


# --- settings --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    """Where a run writes: parsed connection parameters and the names described for messages."""

    url: str
    params: dict[str, str]

    @property
    def where(self) -> str:
        host = self.params.get("host") or self.params.get("hostaddr") or "the local socket"
        port = self.params.get("port")
        at = f"{host}:{port}" if port and not host.startswith("/") else host
        db = self.params.get("dbname") or self.params.get("user") or "(default)"
        user = self.params.get("user")
        return f"database {db!r} at {at}" + (f" as {user!r}" if user else "")

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.params.get("password"), self.params.get("sslpassword")) if s)


def _target(url: str) -> _Target:
    conninfo_to_dict = _psycopg().conninfo.conninfo_to_dict

    try:
        params = {k: str(v) for k, v in conninfo_to_dict(url).items()}
    except Exception as exc:  # libpq's parser: say what is wrong, not what the URL held
        raise PostgisValueError(
            f"not a PostgreSQL URL or connection string: {redact(url)} "
            "(expected postgresql://user@host:port/database)"
        ) from exc
    return _Target(url=url, params=params)


def _check_names(*, schema: str, prefix: str, run: str) -> None:
    if not isinstance(schema, str) or not _SCHEMA_NAME.match(schema):
        raise PostgisValueError(
            f"database schema {schema!r}: lower-case letters, digits and _, not starting with a digit, "
            "at most 63"
        )
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        raise PostgisValueError(
            f"table prefix {prefix!r}: lower-case letters, digits and _, not starting with a digit, "
            "at most 40"
        )
    if not isinstance(run, str) or not run.strip() or len(run) > MAX_RUN_KEY or _CONTROL.search(run):
        raise PostgisValueError(
            f"run key {run!r}: a name of 1 to {MAX_RUN_KEY} characters without control characters"
        )


# --- features to rows ------------------------------------------------------------------------------


def _features(collection: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None) -> list[Mapping[str, Any]]:
    if collection is None:
        return []
    if isinstance(collection, Mapping):
        return list(collection.get("features") or [])
    return list(collection)


def route(
    *,
    incidents: Any,
    places: Any,
    zones: Any = None,
    sectors: Any = None,
    border: Any = None,
) -> dict[str, list[Mapping[str, Any]]]:
    """The features of each table. A zones, sectors or border feature goes by its ``kind`` property
    ("zone", "sector", "border"), so one mixed zones.geojson and three split files both work."""
    tables: dict[str, list[Mapping[str, Any]]] = {layer.name: [] for layer in LAYERS}
    tables["incidents"] = _features(incidents)
    tables["places"] = _features(places)
    for default, collection in (("zones", zones), ("sectors", sectors), ("border", border)):
        for feature in _features(collection):
            kind = (feature.get("properties") or {}).get("kind")
            tables[_BY_KIND.get(kind, default)].append(feature)
    return tables


def _storable(value: Any) -> Any:
    """``value`` with every string (keys too, at any depth) holding only what PostgreSQL can store."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, Mapping):
        return {_storable(str(k)): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return value


def _cell(sql_type: str, value: Any) -> Any:
    """A property as the Python value psycopg binds for its column (ValueError when it cannot be)."""
    from psycopg.types.json import Jsonb

    if value is None:
        return None
    if sql_type == JSONB:
        return Jsonb(_storable(value))
    if sql_type == TEXT:
        return _storable(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    if sql_type == INTEGER:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and -(2**31) <= value < 2**31:
            return int(value)
        raise ValueError(f"not an integer: {value!r}")
    if sql_type == REAL:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ValueError(f"not a number: {value!r}")
    if sql_type == DATE:
        if isinstance(value, dt.date):
            return value
        return dt.date.fromisoformat(str(value))
    raise AssertionError(sql_type)


def _positions(coordinates: Any) -> bool:
    """Whether GeoJSON ``coordinates`` nest lists of finite [lon, lat(, z)] numbers (PostGIS reads a
    text ordinate as 0, silently)."""
    if not isinstance(coordinates, list | tuple) or not coordinates:
        return False
    if all(isinstance(c, int | float) and not isinstance(c, bool) for c in coordinates):
        return 2 <= len(coordinates) <= 4 and all(math.isfinite(c) for c in coordinates)
    return all(_positions(c) for c in coordinates)


def _rows(layer: Layer, features: Sequence[Mapping[str, Any]], run: str) -> list[tuple[Any, ...]]:
    """One row per distinct id, in the table's column order: run, id, columns, extra, geometry."""
    typed = {name for name, _ in layer.columns}
    rows: dict[str, tuple[Any, ...]] = {}
    for index, feature in enumerate(features):
        props = dict(feature.get("properties") or {})
        key = feature.get("id")
        if key is None and layer.id_property:
            key = props.get(layer.id_property)
        if key is None and layer.id_property is None:
            key = layer.name if index == 0 else f"{layer.name}-{index + 1}"
        if key is None or key == "":
            raise PostgisValueError(f"{layer.name}: feature {index} has no id ({layer.id_property!r})")
        key = _storable(str(key))
        consumed = typed | {layer.id_property, "kind" if layer.kind else None}
        extra = {k: v for k, v in props.items() if k not in consumed}
        try:
            cells = [_cell(sql_type, props.get(name)) for name, sql_type in layer.columns]
        except ValueError as exc:
            raise PostgisValueError(f"{layer.name} {key!r}: {exc}") from exc
        geometry = feature.get("geometry")
        if geometry is not None and geometry.get("type") not in _GEOJSON_TYPES[layer.geometry]:
            raise PostgisValueError(
                f"{layer.name} {key!r}: a {geometry.get('type')} where a {layer.geometry} belongs"
            )
        if geometry is not None and not _positions(geometry.get("coordinates")):
            raise PostgisValueError(f"{layer.name} {key!r}: coordinates that are not [lon, lat] numbers")
        if key in rows:
            log.warning("PostGIS %s: id %r appears twice; the last feature is kept", layer.name, key)
        rows[key] = (
            run,
            key,
            *cells,
            _cell(JSONB, extra) if extra else None,
            json.dumps(geometry) if geometry is not None else None,
        )
    return list(rows.values())


# --- SQL ------------------------------------------------------------------------------------------


def _table(schema: str, prefix: str, layer: Layer) -> psycopg.sql.Composed:
    from psycopg import sql

    return sql.Identifier(schema, prefix + layer.name)


def _geometry_value(layer: Layer) -> psycopg.sql.Composable:
    from psycopg import sql

    geom = sql.SQL("ST_SetSRID(ST_GeomFromGeoJSON({}::text), {})").format(sql.Placeholder(), SRID)
    return sql.SQL("ST_Multi({})").format(geom) if layer.geometry.startswith("Multi") else geom


def _create_table(cur: psycopg.Cursor, *, schema: str, prefix: str, layer: Layer) -> None:
    from psycopg import sql

    table = _table(schema, prefix, layer)
    columns = [sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(t)) for name, t in layer.columns]
    cur.execute(
        sql.SQL(
            "CREATE TABLE {table} (fid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "run text NOT NULL, id text NOT NULL, {columns}, extra jsonb, "
            "geom geometry({geometry}, {srid}), updated_at timestamptz NOT NULL DEFAULT now(), "
            "UNIQUE (run, id))"
        ).format(
            table=table,
            columns=sql.SQL(", ").join(columns),
            geometry=sql.SQL(layer.geometry),
            srid=sql.Literal(SRID),
        )
    )
    cur.execute(
        sql.SQL("CREATE INDEX {index} ON {table} USING gist (geom)").format(
            index=sql.Identifier(f"{prefix}{layer.name}_geom_idx"), table=table
        )
    )
    cur.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(table, sql.Literal(layer.description)))
    cur.execute(
        sql.SQL("COMMENT ON COLUMN {} IS {}").format(
            sql.Identifier(schema, prefix + layer.name, "run"),
            sql.Literal("the run key: a run replaces the rows of its own key only"),
        )
    )


def _ensure_table(cur: psycopg.Cursor, *, schema: str, prefix: str, layer: Layer) -> None:
    """Create the table when absent; else add the columns it lacks and check the types of the rest
    (without DDL when nothing is missing, which a user who does not own the table may not run)."""
    from psycopg import sql

    name = prefix + layer.name
    cur.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s",
        (schema, name),
    )
    found = dict(cur.fetchall())
    if not found:
        _create_table(cur, schema=schema, prefix=prefix, layer=layer)
        return
    wanted = [("run", TEXT), ("id", TEXT), *layer.columns, ("extra", JSONB)]
    for column, sql_type in wanted:
        if column not in found:
            cur.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                    _table(schema, prefix, layer), sql.Identifier(column), sql.SQL(sql_type)
                )
            )
        elif found[column] != _DATA_TYPES[sql_type]:
            raise PostgisError(
                f"{schema}.{name}.{column} is {found[column]}, geomap writes {sql_type}: "
                "rename or drop that table, or write into another schema or with another table prefix"
            )
    cur.execute(
        "SELECT type, srid FROM geometry_columns "
        "WHERE f_table_schema = %s AND f_table_name = %s AND f_geometry_column = 'geom'",
        (schema, name),
    )
    geometry = cur.fetchone()
    if geometry is None or (geometry[0].upper(), geometry[1]) != (layer.geometry.upper(), SRID):
        raise PostgisError(
            f"{schema}.{name}.geom is not a geometry({layer.geometry}, {SRID}) column: "
            "rename or drop that table, or write into another schema or with another table prefix"
        )


def _upsert(
    cur: psycopg.Cursor, *, schema: str, prefix: str, layer: Layer, rows: list[tuple[Any, ...]], run: str
) -> TableReport:
    """Insert or update the run's rows (a row whose values did not change is left untouched, its
    updated_at too), then delete the rows of this run key whose ids the run no longer produces."""
    from psycopg import sql

    table = _table(schema, prefix, layer)
    names = [name for name, _ in layer.columns] + ["extra", "geom"]
    values = [sql.Placeholder()] * (2 + len(layer.columns) + 1) + [_geometry_value(layer)]
    compared = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(n)) for n in names)
    incoming = sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(n)) for n in names)
    statement = sql.SQL(
        "INSERT INTO {table} AS t (run, id, {columns}) VALUES ({values}) "
        "ON CONFLICT (run, id) DO UPDATE SET ({columns}, updated_at) = ({incoming}, now()) "
        "WHERE ({compared}) IS DISTINCT FROM ({incoming}) "
        "RETURNING (xmax = 0) AS inserted"
    ).format(
        table=table,
        columns=sql.SQL(", ").join(map(sql.Identifier, names)),
        values=sql.SQL(", ").join(values),
        incoming=incoming,
        compared=compared,
    )
    inserted = updated = 0
    if rows:
        cur.executemany(statement, rows, returning=True)
        while True:
            for (was_inserted,) in cur.fetchall():
                inserted += bool(was_inserted)
                updated += not was_inserted
            if not cur.nextset():
                break
    cur.execute(
        sql.SQL("DELETE FROM {} WHERE run = %s AND id <> ALL(%s::text[])").format(table),
        (run, [row[1] for row in rows]),
    )
    return TableReport(
        table=f"{schema}.{prefix}{layer.name}",
        rows=len(rows),
        inserted=inserted,
        updated=updated,
        deleted=cur.rowcount,
    )


def _ensure_postgis(cur: psycopg.Cursor, target: _Target, *, create_extension: bool) -> str:
    """The PostGIS version of the database, enabling the extension when allowed to."""
    import psycopg

    cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
    found = cur.fetchone()
    if found:
        return str(found[0])
    cur.execute("SELECT default_version FROM pg_available_extensions WHERE name = 'postgis'")
    available = cur.fetchone()
    if available is None:
        raise PostgisError(
            f"PostGIS is not installed on the server of {target.where}: install it there "
            "(Debian: apt-get install postgresql-15-postgis-3), then run CREATE EXTENSION postgis"
        )
    if not create_extension:
        raise PostgisError(f"PostGIS is not enabled in {target.where}: run CREATE EXTENSION postgis")
    try:
        with cur.connection.transaction():  # a savepoint: its failure leaves the run's transaction usable
            cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    except psycopg.errors.InsufficientPrivilege as exc:
        raise PostgisError(
            f"PostGIS is not enabled in {target.where}, and this user may not enable it: "
            "ask the database's administrator to run CREATE EXTENSION postgis"
        ) from exc
    cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
    return str(cur.fetchone()[0])


def _ensure_schema(cur: psycopg.Cursor, schema: str) -> None:
    from psycopg import sql

    cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
    if cur.fetchone() is None:
        cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))


def _psycopg() -> Any:  # the psycopg module, an optional dependency
    try:
        import psycopg
    except ImportError as exc:
        raise PostgisError("writing to PostGIS needs psycopg: pip install 'geomap[postgis]'") from exc
    return psycopg


def _connect(target: _Target, *, connect_timeout: float) -> psycopg.Connection:
    psycopg = _psycopg()
    options: dict[str, Any] = {"application_name": "geomap"}
    if "connect_timeout" not in target.params:
        options["connect_timeout"] = max(1, round(connect_timeout))
    try:
        return psycopg.connect(target.url, **options)
    except psycopg.Error as exc:
        reason = _scrub(str(exc), target.secrets)
        raise PostgisConnectionError(f"cannot connect to {target.where}: {reason}") from exc


def write_postgis(
    url: str,
    *,
    run: str,
    incidents: Any,
    places: Any,
    zones: Any = None,
    sectors: Any = None,
    border: Any = None,
    schema: str = DEFAULT_SCHEMA,
    prefix: str = DEFAULT_PREFIX,
    create_extension: bool = True,
    connect_timeout: float = CONNECT_TIMEOUT_S,
    lock_timeout: float = LOCK_TIMEOUT_S,
) -> PostgisReport:
    """Write a run's layers to PostGIS in one transaction and return what it did.

    ``incidents``, ``places``, ``zones``, ``sectors`` and ``border`` are FeatureCollections (or
    lists of features) as export.py and zones.py build them; zones features go to the zones,
    sectors or border table by their ``kind`` (see :func:`route`). Tables are created when absent
    (and PostGIS enabled, when ``create_extension`` and the user may); the rows of ``run`` are
    upserted by id and those this run no longer produces deleted; other run keys are untouched.
    Waiting for another session's locks ends in an error after ``lock_timeout`` seconds.
    Raises :class:`PostgisConnectionError` when the database cannot be reached,
    :class:`PostgisValueError` for invalid names or values, :class:`PostgisError` otherwise; nothing
    is changed then.
    """
    psycopg = _psycopg()
    _check_names(schema=schema, prefix=prefix, run=run)
    target = _target(url)
    tables = route(incidents=incidents, places=places, zones=zones, sectors=sectors, border=border)
    rows = {layer.name: _rows(layer, tables[layer.name], run) for layer in LAYERS}
    started = time.perf_counter()
    conn = _connect(target, connect_timeout=connect_timeout)
    try:
        with conn, conn.transaction(), conn.cursor() as cur:
            # waiting for another run, or for a session holding rows (a QGIS edit), ends in an error
            cur.execute("SELECT set_config('lock_timeout', %s, true)", (f"{round(lock_timeout * 1000)}ms",))
            cur.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"geomap:{schema}.{prefix}",)
            )
            version = _ensure_postgis(cur, target, create_extension=create_extension)
            _ensure_schema(cur, schema)
            reports = []
            for layer in LAYERS:
                _ensure_table(cur, schema=schema, prefix=prefix, layer=layer)
                reports.append(
                    _upsert(cur, schema=schema, prefix=prefix, layer=layer, rows=rows[layer.name], run=run)
                )
    except PostgisError:
        raise
    except psycopg.Error as exc:
        reason = _scrub(str(exc), target.secrets)
        if conn.broken:
            raise PostgisConnectionError(f"lost the connection to {target.where}: {reason}") from exc
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            reason += f" (another run or session held the tables for {lock_timeout:g} s)"
        raise PostgisError(f"writing to {target.where} failed, nothing was changed: {reason}") from exc
    finally:
        conn.close()
    report = PostgisReport(
        url=redact(url),
        schema=schema,
        prefix=prefix,
        run=run,
        postgis=version,
        tables=tuple(reports),
        seconds=round(time.perf_counter() - started, 3),
    )
    log.info(
        "PostGIS %s (run %r): %s",
        report.url,
        run,
        ", ".join(f"{t.table} {t.rows} rows (+{t.inserted} ~{t.updated} -{t.deleted})" for t in reports),
    )
    return report
