"""The topic names are the wire contract of SPEC §4."""

from __future__ import annotations

from contracts import topics


def test_topic_names_are_those_of_the_spec() -> None:
    assert topics.PORTAL_COMMANDS == "portal.commands.v1"
    assert topics.CDS_EVENTS == "cds.events.v1"
    assert topics.SCM_SALESORDERS == "scm.salesorders.v1"
    assert topics.SCM_CONTACTS == "scm.contacts.v1"
    assert topics.SCM_CUSTOMERS == "scm.customers.v1"
    assert topics.SCM_INBOUND == "scm.inbound.v1"
    assert topics.DEADLETTER == "dualsync.deadletter.v1"


def test_all_topics_lists_each_topic_once() -> None:
    assert topics.ALL_TOPICS == (
        "portal.commands.v1",
        "cds.events.v1",
        "scm.salesorders.v1",
        "scm.contacts.v1",
        "scm.customers.v1",
        "scm.inbound.v1",
        "dualsync.deadletter.v1",
    )
