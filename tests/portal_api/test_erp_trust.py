"""ERP input cannot show one customer's data to another (issue 16, item 2), seen through the API.

The portal fixture runs the API, the command processor, the relay and the projections worker;
`inbound` adds the inbound mapping worker, which takes the ERP's records off scm.inbound.v1.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from contracts.envelope import Message, envelope
from contracts.scm import ContactPersonV2, SalesOrderHeader
from contracts.topics import SCM_INBOUND
from sync_service.demo_data import JANE_CONTACT_ID, REP_CONTACT_ID
from sync_service.mappings.inbound import InboundWorker, erp_order_id
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_api.views_helpers import credential, erp_order, eventually, order_ids, submit
from tests.sync_service.mappings.test_inbound import erp_header
from tests.sync_service.mappings.wire import send

pytestmark = pytest.mark.integration


async def _from_the_erp(portal: Portal, key: str, payload: Message, company: str = "usmf") -> None:
    env = envelope(payload, origin="scm", company=company)
    await send(portal.settings, SCM_INBOUND, (key, env))


async def _open_dead_letters(portal: Portal, count: int = 1) -> list[dict[str, Any]]:
    async def letters() -> list[dict[str, Any]]:
        page = await portal.client.get("/ops/deadletters", headers=ADMIN)
        assert page.status_code == 200, page.text
        return list(page.json()["items"])

    return await eventually(letters, lambda items: len(items) >= count)


async def _representative_of_fabrikam(portal: Portal) -> dict[str, str]:
    contact_id = uuid.uuid4()
    body = {
        "firstname": "Representative", "lastname": "Fabrikam", "email": "rep@y.example",
        "company": "usmf", "account_number": "US-002", "price_list": "PL-US-002",
        "currency": "USD", "ship_to_country": "US", "web_roles": ["customer_representative"],
    }  # fmt: skip
    put = await portal.client.put(f"/admin/contacts/{contact_id}", json=body, headers=ADMIN)
    assert put.status_code == 200, put.text
    await eventually(lambda: portal.app.state.reader.contact(contact_id), bool)
    return await credential(portal, contact_id)


async def test_an_erp_order_naming_jane_for_fabrikam_stays_invisible_to_jane(
    portal: Portal, inbound: InboundWorker
) -> None:
    jane = await credential(portal, JANE_CONTACT_ID)
    fabrikams_rep = await _representative_of_fabrikam(portal)
    janes = await submit(portal, jane)
    # The ERP names Jane (of Contoso, US-001) as the contact person of a Fabrikam (US-002) order.
    header = erp_header(SalesOrderNumber="usmf-900042", ContactPersonId=str(JANE_CONTACT_ID))
    await _from_the_erp(portal, "usmf/usmf-900042", header)
    fabrikams = str(erp_order_id("usmf", "usmf-900042"))

    assert await eventually(lambda: order_ids(portal, ADMIN), lambda ids: ids == {janes, fabrikams})
    assert await order_ids(portal, jane) == {janes}
    assert (await portal.client.get(f"/orders/{fabrikams}", headers=jane)).status_code == 404
    # Fabrikam's representative sees its customer's order; it has no portal orderer.
    assert await order_ids(portal, fabrikams_rep) == {fabrikams}
    seen = (await portal.client.get(f"/orders/{fabrikams}", headers=ADMIN)).json()
    assert (seen["customer_account"], seen["orderer"]) == ("US-002", None)


async def test_the_representative_moved_to_fabrikam_by_the_erp_keeps_seeing_contoso_only(
    portal: Portal, inbound: InboundWorker
) -> None:
    rep = await credential(portal, REP_CONTACT_ID)
    janes = await submit(portal, await credential(portal, JANE_CONTACT_ID))
    fabrikams = await erp_order(portal, customer="US-002", contact_person=None)
    await eventually(lambda: order_ids(portal, ADMIN), lambda ids: ids == {janes, fabrikams})
    assert await order_ids(portal, rep) == {janes}

    move = ContactPersonV2(
        dataAreaId="usmf", ContactPersonId="CP-77", CDSContactId=REP_CONTACT_ID,
        AssociatedContactNumber="US-002", AssociatedContactType="Customer",
        FirstName="Contoso", LastName="Representative",
    )  # fmt: skip
    await _from_the_erp(portal, "usmf/CP-77", move)
    [letter] = await _open_dead_letters(portal)

    assert (letter["map"], letter["error_class"]) == ("ContactPersonsV2", "UntrustedChange")
    for words in ("customer_representative", "usmf/US-001", "usmf/US-002", "redrive"):
        assert words in letter["error_message"]
    assert await order_ids(portal, rep) == {janes}
    account = (await portal.client.get("/account", headers=rep)).json()
    assert account["account_number"] == "US-001"


async def test_a_status_change_of_another_companys_order_is_refused(
    portal: Portal, inbound: InboundWorker
) -> None:
    jane = await credential(portal, JANE_CONTACT_ID)
    order_id = await submit(portal, jane)

    async def status() -> object:
        answer = await portal.client.get(f"/orders/{order_id}", headers=jane)
        return answer.json().get("status") if answer.status_code == 200 else None

    await eventually(status, lambda found: found == "pending")
    canceled: SalesOrderHeader = erp_header(
        dataAreaId="demf", CDSSalesOrderId=uuid.UUID(order_id), SalesOrderNumber="demf-000001",
        SalesOrderProcessingStatus="Canceled",
    )  # fmt: skip
    await _from_the_erp(portal, "demf/demf-000001", canceled, company="demf")
    [letter] = await _open_dead_letters(portal)

    assert (letter["map"], letter["error_class"]) == ("SalesOrderHeaders", "UntrustedChange")
    assert "belongs to company usmf, not demf" in letter["error_message"]
    assert await status() == "pending"
