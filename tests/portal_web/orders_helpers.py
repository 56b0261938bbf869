"""Helpers of the order and account page tests: what a page shows, and the seed's orders."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from sync_service.demo_data import (
    ADMIN_CONTACT_ID,
    JANE_CONTACT_ID,
    MAY_CONTACT_ID,
    REP_CONTACT_ID,
    SAM_CONTACT_ID,
)
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_api.views_helpers import credential, erp_order, eventually, order_ids, submit

_ROW = re.compile(r'<tr data-order-id="([0-9a-f-]{36})">')
_STEP = re.compile(r'<li class="step step-(\w+) (reached|ahead)"( aria-current="step")?>')
_LINK = re.compile(r'<a href="([^"]*)"[^>]*>([^<]*)</a>')


def listed(page: str) -> list[str]:
    """The order ids of an order list page's rows, top to bottom."""
    return _ROW.findall(page)


def link(page: str, text: str) -> str | None:
    """The address of the page's link that reads `text` (None when there is none)."""
    for href, words in _LINK.findall(page):
        if words.strip() == text:
            return html.unescape(href)
    return None


def steps(page: str) -> list[tuple[str, bool, bool]]:
    """The timeline's steps: (status, reached, current), in order."""
    return [(status, state == "reached", bool(now)) for status, state, now in _STEP.findall(page)]


def text(page: str) -> str:
    """The page's words without tags, spaces collapsed: to look for a sentence in."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@dataclass(frozen=True)
class Seeded:
    """The seed's people (their Authorization headers by first name) and their orders."""

    people: dict[str, dict[str, str]]
    janes: str
    sams: str
    mays: str

    @property
    def everything(self) -> set[str]:
        """Every order of the seed's example."""
        return {self.janes, self.sams, self.mays}


async def seed_orders(portal: Portal) -> Seeded:
    """The seed's example: credentials of its five people, Jane's, Sam's and May's orders."""
    # The demo administrator needs a company and account to be invited: Y's, as in the API test.
    admin_record = {
        "firstname": "Portal", "lastname": "Administrator", "email": "admin@portal.example",
        "company": "usmf", "account_number": "US-002", "price_list": "PL-US-002",
        "currency": "USD", "ship_to_country": "US", "language": "en-us",
        "web_roles": ["administrator"],
    }  # fmt: skip
    put = await portal.client.put(
        f"/admin/contacts/{ADMIN_CONTACT_ID}", json=admin_record, headers=ADMIN
    )
    assert put.status_code == 200, put.text
    people = {
        name: await credential(portal, contact)
        for name, contact in (
            ("jane", JANE_CONTACT_ID),
            ("sam", SAM_CONTACT_ID),
            ("rep", REP_CONTACT_ID),
            ("may", MAY_CONTACT_ID),
            ("admin", ADMIN_CONTACT_ID),
        )
    }
    janes = await submit(portal, people["jane"], requisition_number="REQ-7")
    sams = await submit(portal, people["sam"])
    mays = await erp_order(portal, customer="US-002", contact_person=str(MAY_CONTACT_ID))
    seeded = Seeded(people, janes, sams, mays)
    await eventually(lambda: order_ids(portal, ADMIN), lambda ids: ids == seeded.everything)
    return seeded
