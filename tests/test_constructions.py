"""Every French construction the incident detector must handle, one parametrized case each.

The sentences are written for these tests, about real places of the Armenia–Azerbaijan theatre (and a
few of Ukraine, to show the rules are not tied to one war). They run through the real pipeline: the
real spaCy model and the real gazetteer. A construction the current code gets wrong keeps its full
assertion and is marked ``xfail(strict=True)`` with the reason, so fixing it turns the case red until
the mark is removed.
"""

from __future__ import annotations

import datetime as dt

import pytest

from geomap.models import Article, Incident
from geomap.pipeline import Pipeline

ARTICLE_DATE = dt.date(2022, 9, 14)  # a Wednesday

BATTLE = ("Battles", "Armed clash")
SHELLING = ("Explosions/Remote violence", "Shelling/artillery/missile attack")
DRONE = ("Explosions/Remote violence", "Air/drone strike")
INCURSION = ("Strategic developments", "Border incursion/seizure of positions")
CEASEFIRE = ("Strategic developments", "Ceasefire/agreement")
VIOLATION = ("Strategic developments", "Ceasefire violation")
BLOCKADE = ("Strategic developments", "Blockade/closure")
REGAINS = ("Battles", "Government regains territory")
OVERTAKES = ("Battles", "Non-state actor overtakes territory")
TRANSFER = ("Strategic developments", "Non-violent transfer of territory")

# Gazetteer ids of the places the sentences name.
TEGH = "gn-174743"
SOTK = "gn-616041"
JERMUK = "gn-174884"
KAPAN = "gn-174875"
GORIS = "gn-174895"
VARDENIS = "gn-616108"  # the town of Gegharkunik, not the Aragatsotn village
SISIAN = "gn-174763"
KORNIDZOR = "gn-174840"
ISHKHANASAR = "height-mets-ishkhanasar"
NERKIN_HAND = "village-nerkin-hand"
CHINARI = "gn-616780"
BERD = "gn-616802"
IJEVAN = "gn-616627"
SHUSHA = "gn-147105"
FUZULI = "gn-148106"
AGHDAM = "gn-148619"
TOVUZ = "gn-584821"
STEPANAKERT = "gn-146970"
KALBAJAR_DISTRICT = "az-district-kalbajar"
LACHIN_DISTRICT = "az-district-lachin"
LACHIN_CORRIDOR = "corridor-lachin"
NAGORNO_KARABAKH = "region-nagorno-karabakh"
ARMENIA = "country-am"
KHARKIV = "gn-706483"
KHERSON = "gn-706448"
ZAPORIZHZHIA_OBLAST = "ua-oblast-zaporizhzhia"
# Capitals that speak, accuse, negotiate or host a ministry: never the scene.
YEREVAN = "gn-616052"
BAKU = "gn-587084"
MOSCOW = "gn-524901"
CAPITALS = {YEREVAN, BAKU, MOSCOW}


def xfail(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(reason=reason, strict=True)


def incidents(pipeline: Pipeline, text: str, date: dt.date | None = ARTICLE_DATE) -> list[Incident]:
    """The incidents the pipeline finds in one article holding ``text``."""
    article = Article(id="construction", text=text, date=date)
    return next(pipeline.documents([article])).incidents


def only_at(found: list[Incident], place_id: str) -> Incident:
    """The single incident of ``found``, which must be at ``place_id`` and nowhere else."""
    assert [i.place.id for i in found] == [place_id], [(i.sub_event_type, i.place.id) for i in found]
    return found[0]


# --- what: event types ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "place_id"),
    [
        pytest.param("De violents affrontements ont éclaté à Tegh.", BATTLE, TEGH, id="affrontements"),
        pytest.param("Des tirs ont visé Sotk pendant la nuit.", BATTLE, SOTK, id="tirs"),
        pytest.param(
            "Des échanges de tirs ont été signalés près de Kornidzor.",
            BATTLE,
            KORNIDZOR,
            id="echanges-de-tirs",
        ),
        pytest.param("Des bombardements ont frappé Jermuk.", SHELLING, JERMUK, id="bombardements"),
        pytest.param(
            "Une frappe de drone a visé un véhicule militaire près de Vardenis.",
            DRONE,
            VARDENIS,
            id="frappe-de-drone",
        ),
        pytest.param("Des obus sont tombés sur Goris.", SHELLING, GORIS, id="obus"),
        pytest.param(
            "Les forces azerbaïdjanaises ont lancé un assaut près de Nerkin Hand.",
            BATTLE,
            NERKIN_HAND,
            id="assaut",
        ),
        pytest.param("Une brève escarmouche a eu lieu près de Berd.", BATTLE, BERD, id="escarmouche"),
        pytest.param(
            "Des soldats ont tenté de franchir la frontière près de Sotk.",
            INCURSION,
            SOTK,
            id="franchir-la-frontiere",
        ),
        pytest.param(
            "Des militaires ont franchi la frontière près d'Ishkhanasar.",
            INCURSION,
            ISHKHANASAR,
            id="franchi-la-frontiere",
        ),
        pytest.param(
            "Une infiltration de saboteurs a été déjouée près de Chinari.",
            INCURSION,
            CHINARI,
            id="infiltration",
        ),
        pytest.param(
            "Les troupes azerbaïdjanaises ont encerclé Stepanakert.", INCURSION, STEPANAKERT, id="encercle"
        ),
        pytest.param("Choucha a été assiégée pendant plusieurs jours.", INCURSION, SHUSHA, id="assiege"),
        pytest.param("Un cessez-le-feu a été instauré à Berd.", CEASEFIRE, BERD, id="cessez-le-feu"),
        pytest.param("Une trêve fragile est respectée autour de Sisian.", CEASEFIRE, SISIAN, id="treve"),
        pytest.param(
            "Une violation du cessez-le-feu a été signalée près de Kapan.",
            VIOLATION,
            KAPAN,
            id="violation-du-cessez-le-feu",
        ),
        pytest.param("Le blocus de Stepanakert dure depuis neuf mois.", BLOCKADE, STEPANAKERT, id="blocus"),
        pytest.param(
            "La fermeture du corridor de Latchine prive Stepanakert de vivres.",
            BLOCKADE,
            LACHIN_CORRIDOR,
            id="fermeture-du-corridor",
        ),
        pytest.param(
            "Les forces azerbaïdjanaises ont tiré en direction de Goris.",
            BATTLE,
            GORIS,
            id="tirer-verbe",
        ),
        pytest.param(
            "Le village de Tegh a été bombardé dans la nuit.", SHELLING, TEGH, id="passive-a-ete-bombarde"
        ),
        pytest.param(
            "Erevan a accusé l'Azerbaïdjan d'avoir bombardé Jermuk.",
            SHELLING,
            JERMUK,
            id="reported-accuse-d-avoir-bombarde",
        ),
        pytest.param(
            "Selon le ministère de la Défense, des tirs ont visé Kapan.",
            BATTLE,
            KAPAN,
            id="reported-selon-le-ministere",
        ),
        pytest.param("Un missile a frappé Kharkiv.", SHELLING, KHARKIV, id="ukraine-missile-kharkiv"),
        pytest.param(
            "Des obus sont tombés sur Kherson.",
            SHELLING,
            KHERSON,
            id="ukraine-obus-sur-kherson",
        ),
    ],
)
def test_event_type(pipeline: Pipeline, text: str, kind: tuple[str, str], place_id: str) -> None:
    incident = only_at(incidents(pipeline, text), place_id)
    assert (incident.event_type, incident.sub_event_type) == kind


# --- where: the scene, never the speaker ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "place_id"),
    [
        pytest.param("Des combats ont éclaté à Sisian dans la soirée.", SISIAN, id="a-X"),
        pytest.param("Des combats de rue ont eu lieu dans Choucha.", SHUSHA, id="dans-X"),
        pytest.param("Des heurts ont été signalés près de Kornidzor.", KORNIDZOR, id="pres-de-X"),
        pytest.param(
            "Des affrontements ont eu lieu dans la région de Vardenis.", VARDENIS, id="dans-la-region-de-X"
        ),
        pytest.param("Des obus ont été tirés en direction de Goris.", GORIS, id="en-direction-de-X"),
        pytest.param(
            "Des échanges de tirs ont eu lieu le long de la frontière près de Chinari.",
            CHINARI,
            id="le-long-de-la-frontiere-pres-de-X",
        ),
        pytest.param("Des affrontements ont éclaté aux abords de Jermuk.", JERMUK, id="aux-abords-de-X"),
        pytest.param("Des combats se poursuivent près de Kherson.", KHERSON, id="ukraine-pres-de-kherson"),
        pytest.param(
            "Bakou a rejeté toute responsabilité dans les tirs près de Kornidzor.",
            KORNIDZOR,
            id="bakou-a-rejete",
        ),
        pytest.param(
            "Le Kremlin a déclaré qu'un cessez-le-feu était en vigueur à Berd.",
            BERD,
            id="le-kremlin-a-declare",
        ),
        pytest.param(
            "Moscou a négocié un cessez-le-feu dans la région de Latchine.",
            LACHIN_DISTRICT,
            id="moscou-a-negocie",
        ),
        pytest.param(
            "Des tirs ont visé Jermuk, a déclaré le ministère de la Défense à Erevan.",
            JERMUK,
            id="a-declare-le-ministere-a-erevan",
        ),
        pytest.param(
            "Bakou a ordonné la fermeture du corridor de Latchine.",
            LACHIN_CORRIDOR,
            id="bakou-a-ordonne",
        ),
    ],
)
def test_incident_place(pipeline: Pipeline, text: str, place_id: str) -> None:
    found = incidents(pipeline, text)
    assert not CAPITALS & {i.place.id for i in found}, [i.place.id for i in found]
    only_at(found, place_id)


@pytest.mark.parametrize(
    ("text", "place_id", "precision"),
    [
        pytest.param("Des tirs ont touché Tegh.", TEGH, 1, id="village-named-directly"),
        pytest.param(
            "Les forces arméniennes ont bombardé le district de Kalbajar.",
            KALBAJAR_DISTRICT,
            2,
            id="district",
        ),
        pytest.param("De nouveaux affrontements ont éclaté en Arménie.", ARMENIA, 3, id="country"),
        pytest.param("Des combats ont éclaté dans le Haut-Karabakh.", NAGORNO_KARABAKH, 3, id="region"),
        pytest.param(
            "Des bombardements ont frappé la région de Zaporijjia.",
            ZAPORIZHZHIA_OBLAST,
            3,
            id="ukraine-region",
        ),
    ],
)
def test_geo_precision(pipeline: Pipeline, text: str, place_id: str, precision: int) -> None:
    assert only_at(incidents(pipeline, text), place_id).geo_precision == precision


# --- when -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "article_date", "place_id", "date", "precision"),
    [
        pytest.param(
            "Des affrontements ont éclaté à Tegh le 13 septembre.",
            ARTICLE_DATE,
            TEGH,
            dt.date(2022, 9, 13),
            "day",
            id="le-13-septembre",
        ),
        pytest.param(
            "Des bombardements ont visé Jermuk le 13/09/2022.",
            ARTICLE_DATE,
            JERMUK,
            dt.date(2022, 9, 13),
            "day",
            id="13/09/2022",
        ),
        pytest.param(
            "Dans la nuit de lundi à mardi, des obus sont tombés sur Goris.",
            ARTICLE_DATE,
            GORIS,
            dt.date(2022, 9, 12),  # the night began on Monday
            "day",
            id="nuit-de-lundi-a-mardi",
        ),
        pytest.param(
            "Des tirs ont visé Sotk mardi.", ARTICLE_DATE, SOTK, dt.date(2022, 9, 13), "day", id="mardi"
        ),
        pytest.param(
            "Hier, des affrontements ont éclaté près de Kornidzor.",
            ARTICLE_DATE,
            KORNIDZOR,
            dt.date(2022, 9, 13),
            "day",
            id="hier",
        ),
        pytest.param(
            "La semaine dernière, une frappe de drone a touché Vardenis.",
            ARTICLE_DATE,
            VARDENIS,
            dt.date(2022, 9, 7),
            "week",
            id="la-semaine-derniere",
        ),
        pytest.param(
            "En août, des échanges de tirs ont eu lieu près de Chinari.",
            ARTICLE_DATE,
            CHINARI,
            dt.date(2022, 8, 1),
            "month",
            id="en-aout",
        ),
        pytest.param(
            "Des bombardements ont visé Kharkiv mardi.",
            ARTICLE_DATE,
            KHARKIV,
            dt.date(2022, 9, 13),
            "day",
            id="ukraine-mardi",
        ),
        pytest.param(
            "Des affrontements ont éclaté à Berd.", None, BERD, None, "unknown", id="no-date-anywhere"
        ),
    ],
)
def test_incident_date(
    pipeline: Pipeline,
    text: str,
    article_date: dt.date | None,
    place_id: str,
    date: dt.date | None,
    precision: str,
) -> None:
    incident = only_at(incidents(pipeline, text, article_date), place_id)
    assert (incident.date, incident.date_precision) == (date, precision)


# --- who and how many -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "place_id", "country"),
    [
        pytest.param(
            "Les forces arméniennes ont ouvert le feu près de Tovuz.",
            TOVUZ,
            "Armenia",
            id="forces-armeniennes",
        ),
        pytest.param(
            "L'armée azerbaïdjanaise a bombardé Sotk.", SOTK, "Azerbaijan", id="armee-azerbaidjanaise"
        ),
        pytest.param(
            "Les soldats de la paix russes ont constaté une violation du cessez-le-feu près d'Aghdam.",
            AGHDAM,
            "Russia",
            id="soldats-de-la-paix-russes",
        ),
    ],
)
def test_actor_names_its_country(pipeline: Pipeline, text: str, place_id: str, country: str) -> None:
    incident = only_at(incidents(pipeline, text), place_id)
    assert any(country in actor for actor in incident.actors), incident.actors


@pytest.mark.parametrize(
    ("text", "place_id", "fatalities", "injured"),
    [
        pytest.param(
            "Au moins 49 personnes ont été tuées dans des affrontements près de Jermuk.",
            JERMUK,
            {49},
            {None},
            id="au-moins-49-personnes-tuees",
        ),
        pytest.param(
            "Deux soldats ont été tués dans des tirs près de Kornidzor.",
            KORNIDZOR,
            {2},
            {None},
            id="deux-soldats-tues",
        ),
        pytest.param(
            "Les combats autour de Fizouli ont fait 6 500 morts.", FUZULI, {6500}, {None}, id="6-500-morts"
        ),
        pytest.param(
            "Trois civils ont été blessés par des obus tombés sur Goris.",
            GORIS,
            {None},
            {3},
            id="trois-civils-blesses",
        ),
        pytest.param(
            "Aucune victime n'est à déplorer après les tirs sur Ijevan.",
            IJEVAN,
            {None, 0},
            {None, 0},
            id="aucune-victime",
        ),
    ],
)
def test_casualties(
    pipeline: Pipeline, text: str, place_id: str, fatalities: set[int | None], injured: set[int | None]
) -> None:
    incident = only_at(incidents(pipeline, text), place_id)
    assert incident.fatalities in fatalities
    assert incident.injured in injured


# --- issue 13: coordinated places, places after a noun, impact verbs, changes of control ---------


@pytest.mark.parametrize(
    ("text", "place_ids"),
    [
        pytest.param(
            "Les villages de Sotk, Kornidzor et Tegh ont été touchés par des bombardements.",
            {SOTK, KORNIDZOR, TEGH},
            id="les-villages-de-A-B-et-C",
        ),
        pytest.param(
            "Les localités de Sotk, de Kornidzor et de Tegh ont été touchées.",
            {SOTK, KORNIDZOR, TEGH},
            id="les-localites-de-A-de-B-et-de-C",
        ),
        pytest.param(
            "Des tirs ont visé Jermuk, Goris et Kapan dans la nuit.",
            {JERMUK, GORIS, KAPAN},
            id="vise-A-B-et-C",
        ),
        pytest.param(
            "Sotk, Kornidzor et Tegh ont été visés par l'artillerie.",
            {SOTK, KORNIDZOR, TEGH},
            id="A-B-et-C-ont-ete-vises",
        ),
        pytest.param("Un drone a frappé Jermuk et Goris.", {JERMUK, GORIS}, id="frappe-A-et-B"),
    ],
)
def test_coordinated_places_each_get_an_incident(pipeline: Pipeline, text: str, place_ids: set[str]) -> None:
    assert {i.place.id for i in incidents(pipeline, text)} == place_ids


@pytest.mark.parametrize(
    ("text", "place_id"),
    [
        pytest.param(
            "Un tir sur la ville voisine de Goris a fait deux blessés.", GORIS, id="la-ville-voisine-de-X"
        ),
        pytest.param(
            "Des tirs ont été signalés dans la localité frontalière de Sotk.",
            SOTK,
            id="la-localite-frontaliere-de-X",
        ),
        pytest.param("Le village arménien de Tegh a été bombardé.", TEGH, id="le-village-armenien-de-X"),
        pytest.param(
            "Un obus est tombé sur la commune frontalière de Tegh.", TEGH, id="la-commune-frontaliere-de-X"
        ),
    ],
)
def test_place_after_a_noun_and_its_adjective(pipeline: Pipeline, text: str, place_id: str) -> None:
    only_at(incidents(pipeline, text), place_id)


@pytest.mark.parametrize(
    ("text", "kind", "place_id"),
    [
        pytest.param(
            "Sotk a été touché dans la nuit de mardi à mercredi.", SHELLING, SOTK, id="X-a-ete-touche"
        ),
        pytest.param("Jermuk a été visée.", SHELLING, JERMUK, id="X-a-ete-visee"),
        pytest.param("Goris a été pilonné toute la nuit.", SHELLING, GORIS, id="X-a-ete-pilonne"),
        pytest.param(
            "Les maisons de Sotk ont été endommagées.", SHELLING, SOTK, id="les-maisons-de-X-endommagees"
        ),
        pytest.param("L'école de Goris a été endommagée.", SHELLING, GORIS, id="l-ecole-de-X-endommagee"),
        pytest.param("Kapan a été frappé par des drones.", DRONE, KAPAN, id="frappe-par-des-drones"),
        pytest.param(
            "Des maisons de Sotk ont été endommagées par des tirs.",
            BATTLE,
            SOTK,
            id="endommagees-par-des-tirs",
        ),
    ],
)
def test_impact_verb_without_an_event_noun(
    pipeline: Pipeline, text: str, kind: tuple[str, str], place_id: str
) -> None:
    incident = only_at(incidents(pipeline, text), place_id)
    assert (incident.event_type, incident.sub_event_type) == kind


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("L'économie de Goris a été durement touchée par la crise.", id="touchee-par-la-crise"),
        pytest.param("Le maire de Sotk a été visé par une enquête.", id="vise-par-une-enquete"),
        pytest.param("Kapan a été frappée par la sécheresse.", id="frappee-par-la-secheresse"),
        pytest.param("La route de Goris a été endommagée par les pluies.", id="endommagee-par-les-pluies"),
        pytest.param("Le ministre a été touché par les propos tenus à Goris.", id="touche-par-des-propos"),
        pytest.param(
            "Le chœur de Goris a repris La Marseillaise en ouverture du concert.", id="a-repris-un-chant"
        ),
        pytest.param("Le ministre a pris la parole à Goris devant les élus.", id="a-pris-la-parole"),
        pytest.param(
            "La police a libéré Anna Petrossian, retenue en otage à Goris.", id="a-libere-une-personne"
        ),
        pytest.param(
            "Le prix du festival de Goris a été remis à une réalisatrice iranienne.", id="prix-remis-a"
        ),
        pytest.param(
            "Les négociations ont repris lundi à Goris sans avancée notable.",
            id="les-negociations-ont-repris",
        ),
        pytest.param(
            "Le district de Kalbajar a été remis à l'Azerbaïdjan en novembre 2020, en vertu de l'accord.",
            id="transfer-recalled-years-later",
        ),
        pytest.param(
            "Selon des rumeurs, les maisons de Sotk auraient été touchées, ce que dément la mairie.",
            id="auraient-ete-touchees",
        ),
        pytest.param("La ligne électrique Goris-Kapan a aussi été endommagée.", id="ligne-A-B-endommagee"),
    ],
)
def test_no_incident_in_look_alikes(pipeline: Pipeline, text: str) -> None:
    assert incidents(pipeline, text) == []


@pytest.mark.parametrize(
    ("text", "kind", "place_id"),
    [
        pytest.param("L'armée a libéré la ville de Fuzuli.", REGAINS, FUZULI, id="a-libere-la-ville-de-X"),
        pytest.param(
            "L'armée ukrainienne a repris la ville de Kherson.", REGAINS, KHERSON, id="a-repris-la-ville-de-X"
        ),
        pytest.param(
            "L'armée a repris le contrôle de Fuzuli.", REGAINS, FUZULI, id="a-repris-le-controle-de-X"
        ),
        pytest.param("Les forces azerbaïdjanaises ont pris Choucha.", OVERTAKES, SHUSHA, id="ont-pris-X"),
        pytest.param(
            "Choucha est tombée aux mains des forces azerbaïdjanaises.",
            OVERTAKES,
            SHUSHA,
            id="est-tombee-aux-mains-de",
        ),
        pytest.param(
            "Le village de Tegh est passé sous le contrôle des forces azerbaïdjanaises.",
            OVERTAKES,
            TEGH,
            id="est-passe-sous-le-controle-de",
        ),
        pytest.param("Aghdam a été remis à l'Azerbaïdjan.", TRANSFER, AGHDAM, id="X-a-ete-remis-a"),
        pytest.param(
            "Le district de Kalbajar a été remis à l'Azerbaïdjan.",
            TRANSFER,
            KALBAJAR_DISTRICT,
            id="le-district-remis-a",
        ),
    ],
)
def test_change_of_control(pipeline: Pipeline, text: str, kind: tuple[str, str], place_id: str) -> None:
    incident = only_at(incidents(pipeline, text), place_id)
    assert (incident.event_type, incident.sub_event_type) == kind


@pytest.mark.parametrize(
    ("text", "place_id", "precision"),
    [
        pytest.param(
            "Les combats se poursuivent dans le Haut-Karabakh.",
            NAGORNO_KARABAKH,
            3,
            id="se-poursuivent-dans-la-region",
        ),
        pytest.param(
            "Des affrontements se poursuivent dans la province de Syunik.",
            "am-province-syunik",
            3,
            id="province-only",
        ),
        pytest.param(
            "Des combats font rage dans le district de Kalbajar.", KALBAJAR_DISTRICT, 2, id="district-only"
        ),
    ],
)
def test_incident_only_at_a_region_or_district(
    pipeline: Pipeline, text: str, place_id: str, precision: int
) -> None:
    assert only_at(incidents(pipeline, text), place_id).geo_precision == precision


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        pytest.param(
            "Des bombardements ont visé la région. Les villages de Sotk et Tegh ont été les plus touchés.",
            SHELLING,
            id="bombardements-puis-les-plus-touches",
        ),
        pytest.param(
            "Des drones ont attaqué la région dans la nuit. Les villages de Sotk et Tegh ont été touchés.",
            DRONE,
            id="drones-puis-touches",
        ),
        pytest.param(
            "Un cessez-le-feu a été conclu lundi. Les villages de Sotk et Tegh ont été touchés.",
            SHELLING,
            id="no-carry-from-a-ceasefire",
        ),
    ],
)
def test_event_in_one_sentence_places_in_the_next(
    pipeline: Pipeline, text: str, kind: tuple[str, str]
) -> None:
    found = incidents(pipeline, text)
    assert {i.place.id for i in found} == {SOTK, TEGH}
    assert {(i.event_type, i.sub_event_type) for i in found} == {kind}
