"""Which sentences report an incident, and of which ACLED type: the event triggers.

A sentence reports an incident when one of its words is an event trigger (affrontements,
bombardements, frappe de drone, franchir la frontière, cessez-le-feu, blocus...). The triggers and
the rules that group them by type live in ``geomap/lexicon/<language>/triggers.toml``, each with its
example sentences; rules are tried in order and the first that fires names the incident, so more
specific rules come first.
"""

from __future__ import annotations

from collections.abc import Sequence

from geomap.lexicon import DEFAULT_LANGUAGE, TriggerRule, load

EventRule = TriggerRule  # the name the detector's callers know

EVENT_RULES: tuple[TriggerRule, ...] = load().rules  # the default language's


def event_rules(language: str = DEFAULT_LANGUAGE) -> tuple[TriggerRule, ...]:
    """The event rules of ``language``, in the order they are tried."""
    return load(language).rules


def first_event(sentence: str, rules: Sequence[TriggerRule] = EVENT_RULES) -> tuple[TriggerRule, int] | None:
    """The first rule that fires on the sentence and where its earliest trigger starts, or None
    (``rules``: a language's ``event_rules``)."""
    for rule in rules:
        match = rule.pattern.search(sentence)
        if match:
            return rule, match.start()
    return None
