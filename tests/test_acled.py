"""The ACLED export: real incidents (the pipeline on sentences written for these tests) and hand-made
ones, written as ``incidents_acled.csv``, read back with pandas and ACLED's dtypes, and every value
checked against the codebook tables kept in ``geomap/acled_codebook/`` (read here with pandas, not
through the module under test).

Places used (all in the curated gazetteer): Jermuk, Sotk, Tegh, Berkaber, Goris, Kut, Nerkin Hand
and Chakaten in Armenia; the Lachin corridor and Khankendi (Stepanakert) in Azerbaijan.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from geomap.acled import (
    ACLED_COLUMNS,
    ACLED_DTYPES,
    CODEBOOK_DIR,
    acled_csv,
    acled_rows,
    event_number,
    export_timestamp,
    read_acled_csv,
)
from geomap.errors import MissingExtraError
from geomap.export import atomic_write
from geomap.maps import COLOURS
from geomap.models import Article, Incident, Place

if TYPE_CHECKING:
    from geomap.pipeline import Pipeline

# The 31 columns of ACLED's codebook, in its order (written out here, not read from the module).
CODEBOOK_COLUMNS = [
    "event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type",
    "sub_event_type", "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2", "inter2",
    "interaction", "civilian_targeting", "iso", "region", "country", "admin1", "admin2", "admin3",
    "location", "latitude", "longitude", "geo_precision", "source", "source_scale", "notes",
    "fatalities", "tags", "timestamp",
]  # fmt: skip
PUBLISHED = dt.date(2022, 9, 14)
SENTENCES = [
    "Le 13 septembre 2022, de violents affrontements entre les forces arméniennes et les forces "
    "azerbaïdjanaises ont fait 49 morts près de Jermuk.",
    "Des tirs d'artillerie ont visé le village de Sotk mardi, a annoncé le ministère de la Défense.",
    "Des soldats azerbaïdjanais ont ouvert le feu sur des civils à Tegh, et deux habitants ont été blessés.",
    "Un cessez-le-feu est entré en vigueur le long de la frontière près de Berkaber.",
    "Des milliers de réfugiés ont fui vers Goris.",
    "Les forces arméniennes ont violé le cessez-le-feu près de Kut, selon Bakou.",
    "Le blocus du corridor de Latchine se poursuit.",
    "Une frappe de drone a touché Nerkin Hand dans la nuit.",
    "Les troupes azerbaïdjanaises ont franchi la frontière près de Chakaten.",
    "Les soldats de la paix russes se sont déployés à Stepanakert après des combats.",
]
EVIL = '=HYPERLINK("http://evil.example","clic")'
RUSSIANS = "Peacekeepers of Russia"
RUSSIA = "Military Forces of Russia (2000-)"


def table(name: str) -> pd.DataFrame:
    return pd.read_csv(CODEBOOK_DIR / name, dtype=str, keep_default_na=False)


def place(name: str, country: str | None, lat: float = 40.0, lon: float = 45.0, **extra) -> Place:
    return Place(id=f"test-{name}", name=name, kind="village", country=country, lat=lat, lon=lon, **extra)


def incident(sub_event_type: str, where: Place, **extra) -> Incident:
    values = {
        "id": "0123456789ab",
        "doc": "doc",
        "event_type": "x",
        "sub_event_type": sub_event_type,
        "place": where,
        "mention": where.name,
        "geo_precision": 1,
        "evidence": "Une phrase.",
    }
    return Incident(**(values | extra))


@pytest.fixture(scope="module")
def real_incidents(pipeline: Pipeline) -> list[Incident]:
    """What the pipeline finds in one article per sentence, each with an outlet's url."""
    articles = [
        Article(
            id=f"a{i}", text=text, date=PUBLISHED, title=f"Titre {i}", url=f"https://www.journal.example/{i}"
        )
        for i, text in enumerate(SENTENCES)
    ]
    return [i for document in pipeline.documents(articles) for i in document.incidents]


@pytest.fixture(scope="module")
def made_incidents() -> list[Incident]:
    """One hand-made incident per geomap type, in both countries, with every actor form."""
    armenia, azerbaijan = place("Sotk", "AM", admin1="Gegharkunik"), place("Kalbajar", "AZ")
    return [
        incident("Armed clash", azerbaijan, id="000000000001", actors=("Military Forces of Armenia",),
                 date=dt.date(2023, 9, 19), date_precision="day", fatalities=3),
        incident("Shelling/artillery/missile attack", armenia, id="000000000002",
                 actors=("Military Forces of Azerbaijan",), date=dt.date(2023, 9, 20), date_precision="week"),
        incident("Air/drone strike", azerbaijan, id="000000000003", date=dt.date(2023, 9, 1),
                 date_precision="month"),
        incident("Attack on civilians", armenia, id="000000000004", injured=2,
                 actors=("Military Forces of Azerbaijan", "Military Forces of Armenia")),
        incident("Border incursion/seizure of positions", armenia, id="000000000005",
                 actors=("Military Forces of Azerbaijan", "Military Forces of Armenia", RUSSIANS)),
        incident("Blockade/closure", azerbaijan, id="000000000006", actors=(RUSSIANS,)),
        incident("Ceasefire/agreement", armenia, id="000000000007"),
        incident("Ceasefire violation", armenia, id="000000000008", actors=("Military Forces of Atlantis",)),
        incident("Displacement", azerbaijan, id="000000000009"),
        incident("Government regains territory", azerbaijan, id="000000000010",
                 actors=("Military Forces of Azerbaijan",)),
        incident("Non-state actor overtakes territory", armenia, id="000000000011",
                 actors=("Military Forces of Azerbaijan",)),
        incident("Non-violent transfer of territory", azerbaijan, id="000000000012"),
    ]  # fmt: skip


def frame_of(incidents: list[Incident], **options) -> pd.DataFrame:
    return read_acled_csv(io.StringIO(acled_csv(incidents, **options)))


def assert_acled(frame: pd.DataFrame) -> None:
    """Every column present, in order, with ACLED's dtype, and every value in the codebook's sets."""
    assert list(frame.columns) == CODEBOOK_COLUMNS
    for column, dtype in ACLED_DTYPES.items():
        assert str(frame[column].dtype) == dtype, column
    assert pd.api.types.is_datetime64_any_dtype(frame["event_date"])

    pairs = table("event_types.csv").set_index(["event_type", "sub_event_type"])["disorder_type"]
    interactions = set(table("interactions.csv")["interaction"].astype(int))
    countries = table("countries.csv").set_index("country")
    regions = set(table("regions.csv")["region_name"])
    values = table("value_sets.csv").groupby("column")["value"].apply(set)
    for row in frame.itertuples(index=False):
        assert (row.event_type, row.sub_event_type) in pairs.index, row.sub_event_type
        assert row.disorder_type == pairs[(row.event_type, row.sub_event_type)]
        assert 1 <= row.inter1 <= 8 and 0 <= row.inter2 <= 8
        assert (row.inter2 == 0) == pd.isna(row.actor2)
        low, high = sorted((row.inter1, row.inter2))
        assert row.interaction == (row.inter1 * 10 if row.inter2 == 0 else low * 10 + high)
        assert row.interaction in interactions
        if row.event_type == "Violence against civilians":
            assert row.civilian_targeting == "Civilians targeted" and row.inter2 == 7
        else:
            assert pd.isna(row.civilian_targeting) or row.civilian_targeting in values["civilian_targeting"]
        if pd.notna(row.country):
            assert row.iso == int(countries.loc[row.country, "iso"])
            assert row.region == countries.loc[row.country, "region"] in regions
            assert row.event_id_cnty.startswith(countries.loc[row.country, "iso3"])
        else:
            assert pd.isna(row.iso) and pd.isna(row.region) and row.event_id_cnty.startswith("XXX")
        assert pd.isna(row.time_precision) or str(row.time_precision) in values["time_precision"]
        assert pd.isna(row.event_date) == pd.isna(row.year) == pd.isna(row.time_precision)
        if pd.notna(row.event_date):
            assert row.year == row.event_date.year
        assert str(row.geo_precision) in values["geo_precision"]
        assert all(part in values["source_scale"] for part in row.source_scale.split("-"))
        assert row.fatalities >= 0
        assert round(row.latitude, 4) == row.latitude and round(row.longitude, 4) == row.longitude
        assert "geomap type: " in row.tags
    assert frame["event_id_cnty"].is_unique


def test_real_incidents_load_with_acleds_dtypes_and_value_sets(real_incidents: list[Incident]) -> None:
    assert len({i.sub_event_type for i in real_incidents}) >= 6  # the sentences reach most types
    frame = frame_of(real_incidents)
    assert len(frame) == len(real_incidents)
    assert_acled(frame)
    clash = frame[frame["location"] == "Jermuk"].iloc[0]
    assert (clash.event_type, clash.sub_event_type, clash.disorder_type) == (
        "Battles", "Armed clash", "Political violence"
    )  # fmt: skip
    assert {(clash.actor1, clash.inter1), (clash.actor2, clash.inter2)} == {
        ("Military Forces of Armenia (2018-)", 1),  # at home
        ("Military Forces of Azerbaijan (2003-)", 8),  # abroad: External/Other forces
    }
    assert (clash.interaction, clash.fatalities, clash.iso, clash.country) == (18, 49, 51, "Armenia")
    assert clash.event_date == pd.Timestamp("2022-09-13") and clash.time_precision == 1
    assert clash.region == "Caucasus and Central Asia" and clash.source == "journal.example"
    assert clash.notes.startswith("Le 13 septembre 2022")
    assert (frame["fatalities"] == 0).sum() >= len(frame) - 1  # none reported is 0, never blank


def test_hand_made_incidents_cover_every_geomap_type(made_incidents: list[Incident]) -> None:
    assert {i.sub_event_type for i in made_incidents} == set(COLOURS)
    frame = frame_of(made_incidents)
    assert_acled(frame)
    frame.index = frame["tags"].str.extract(r"geomap type: ([^;]+)")[0]
    clash = frame.loc["Armed clash"]  # Armenian forces in Azerbaijan, nobody else named
    assert (clash.actor1, clash.inter1) == ("Military Forces of Armenia (2018-)", 8)
    assert (clash.actor2, clash.inter2, clash.interaction) == ("Unidentified Armed Group (Azerbaijan)", 3, 38)
    attack = frame.loc["Attack on civilians"]
    assert (attack.event_type, attack.sub_event_type) == ("Violence against civilians", "Attack")
    assert (attack.actor1, attack.inter1) == ("Military Forces of Azerbaijan (2003-)", 8)
    assert attack.assoc_actor_1 == "Military Forces of Armenia (2018-)"
    assert (attack.actor2, attack.inter2, attack.interaction) == ("Civilians (Armenia)", 7, 78)
    assert attack.civilian_targeting == "Civilians targeted" and "injured: 2" in attack.tags
    incursion = frame.loc["Border incursion/seizure of positions"]
    assert incursion.sub_event_type == "Change to group/activity"  # a movement of forces
    assert (incursion.inter1, incursion.inter2, incursion.interaction) == (8, 1, 18)
    assert incursion.assoc_actor_1 == RUSSIA  # peacekeepers: forces abroad
    blockade = frame.loc["Blockade/closure"]
    assert (blockade.actor1, blockade.inter1, blockade.interaction) == (RUSSIA, 8, 80)
    assert pd.isna(blockade.actor2) and blockade.inter2 == 0
    agreement = frame.loc["Ceasefire/agreement"]
    assert (agreement.sub_event_type, agreement.actor1, agreement.interaction) == (
        "Agreement", "Unidentified Armed Group (Armenia)", 30
    )  # fmt: skip
    violation = frame.loc["Ceasefire violation"]  # a state geomap's codebook does not know
    assert (violation.event_type, violation.inter1) == ("Battles", 1)
    assert violation.actor1 == "Military Forces of Atlantis"
    displacement = frame.loc["Displacement"]
    assert (displacement.sub_event_type, displacement.actor1, displacement.interaction) == (
        "Other", "Civilians (Azerbaijan)", 70
    )  # fmt: skip
    assert frame.loc["Shelling/artillery/missile attack", "time_precision"] == 2
    assert frame.loc["Air/drone strike", "time_precision"] == 3
    assert frame.loc["Armed clash", "admin1"] is pd.NA and frame.loc["Displacement", "admin1"] is pd.NA
    assert frame.loc["Border incursion/seizure of positions", "admin1"] == "Gegharkunik"


def test_fatalities_are_zero_when_none_is_reported(made_incidents: list[Incident]) -> None:
    text = acled_csv(made_incidents)
    rows = list(pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)["fatalities"])
    assert rows == ["3"] + ["0"] * (len(made_incidents) - 1)


def test_undated_incidents_and_places_without_a_country_keep_blank_columns() -> None:
    sea = place("Somewhere", None, lat=41.123456, lon=-45.98765)
    frame = frame_of([incident("Armed clash", sea)])
    assert_acled(frame)
    row = frame.iloc[0]
    assert pd.isna(row.event_date) and pd.isna(row.year) and pd.isna(row.timestamp)
    assert row.event_id_cnty == f"XXX{0x0123456789AB}" and row.actor1 == "Unidentified Armed Group"
    assert (row.latitude, row.longitude) == (41.1235, -45.9877)


def test_every_text_cell_is_inert(made_incidents: list[Incident]) -> None:
    evil = incident(
        "Armed clash",
        place("@SUM(1+1)", "AM", admin1="+cmd", lon=-45.5),
        evidence=EVIL,
        actors=("-2+3",),
        sources=({"doc": "d", "title": "=1+1", "url": "javascript:alert(1)"},),
    )
    text = acled_csv([evil])
    assert "=HYPERLINK" not in text.replace("'=HYPERLINK", "")
    row = read_acled_csv(io.StringIO(text)).iloc[0]
    assert (row.notes, row.location, row.admin1, row.source) == ("'" + EVIL, "'@SUM(1+1)", "'+cmd", "'=1+1")
    assert (row.actor1, row.inter1) == ("'-2+3", 3)  # a label of no known form, as written
    assert row.longitude == -45.5  # numbers stay numbers


def test_bom_for_excel(made_incidents: list[Incident], tmp_path: Path) -> None:
    plain, marked = acled_csv(made_incidents), acled_csv(made_incidents, bom=True)
    assert not plain.startswith("\ufeff") and marked == "\ufeff" + plain
    atomic_write(tmp_path / "incidents_acled.csv", marked)
    assert (tmp_path / "incidents_acled.csv").read_bytes().startswith(b"\xef\xbb\xbfevent_id_cnty,")
    pd.testing.assert_frame_equal(read_acled_csv(tmp_path / "incidents_acled.csv"), frame_of(made_incidents))


def test_ids_and_timestamps_are_stable_between_runs(made_incidents: list[Incident]) -> None:
    assert acled_csv(made_incidents) == acled_csv(list(made_incidents))
    rows = acled_rows(made_incidents)
    for made, row in zip(made_incidents, rows, strict=True):
        assert format(int(row["event_id_cnty"][3:]), "012x") == made.id
    newest = dt.datetime(2023, 9, 21, tzinfo=dt.UTC).timestamp()  # the midnight after 20 September
    assert {row["timestamp"] for row in rows} == {newest}
    assert export_timestamp([None, dt.date(2024, 1, 31), dt.date(2023, 5, 1)]) == 1706745600  # 1 Feb 2024
    assert export_timestamp([None]) is None
    assert {row["timestamp"] for row in acled_rows(made_incidents, timestamp=1700000000)} == {1700000000}
    assert event_number("not-hex") == event_number("not-hex") < 2**48


def test_codebook_tables_agree_with_iso_3166() -> None:
    pycountry = pytest.importorskip("pycountry")
    countries = table("countries.csv")
    assert countries["iso2"].is_unique
    assert set(countries["region"]) <= set(table("regions.csv")["region_name"])
    for row in countries.itertuples(index=False):
        entry = pycountry.countries.get(alpha_2=row.iso2)
        if entry is None:
            assert (row.iso2, row.iso) == ("XK", "0")
        else:
            assert (int(entry.numeric), entry.alpha_3) == (int(row.iso), row.iso3)
    assert set(countries["country"]) >= set(table("sources/acled_countries.csv")["country"])
    assert tuple(CODEBOOK_COLUMNS) == ACLED_COLUMNS


def test_every_geomap_type_has_a_documented_acled_type() -> None:
    mapping = table("geomap_types.csv").set_index("geomap_type")
    pairs = set(table("event_types.csv").set_index(["event_type", "sub_event_type"]).index)
    assert set(COLOURS) <= set(mapping.index)
    for geomap_type, row in mapping.iterrows():
        assert (row.event_type, row.sub_event_type) in pairs, geomap_type
        assert row.reason, geomap_type


def test_types_outside_the_mapping_table() -> None:
    armenia = place("Sotk", "AM")
    typed = incident(
        "Abduction/forced disappearance", armenia, event_type="Violence against civilians", id="00000000000a"
    )
    unknown = incident("Something new", armenia, id="00000000000b")
    frame = frame_of([typed, unknown])
    assert_acled(frame)
    assert list(frame["sub_event_type"]) == ["Abduction/forced disappearance", "Other"]
    assert (frame.loc[0, "actor2"], frame.loc[0, "interaction"]) == ("Civilians (Armenia)", 37)
    assert "geomap type: Something new" in frame.loc[1, "tags"]


def test_reading_into_a_data_frame_without_pandas_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # as when it is not installed: the import fails
    with pytest.raises(MissingExtraError, match=r"needs pandas: pip install 'geomap\[parquet\]'"):
        read_acled_csv(io.StringIO(acled_csv([])))
