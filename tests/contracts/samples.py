"""One valid payload per message type, shaped like the demo data set (SPEC §8)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from contracts.cds import (
    Account,
    Contact,
    Product,
    ProductPriceLevel,
    ProductUnit,
    SalesOrder,
    SalesOrderDetail,
)
from contracts.commands import (
    DeliveryAddress,
    InviteContact,
    OrderLineRequest,
    RedeemInvitation,
    RevokeCredential,
    SubmitOrder,
    UpsertContact,
)
from contracts.deadletter import DeadLetter
from contracts.envelope import Message
from contracts.errors import FieldError
from contracts.events import (
    CommandRejected,
    ContactUpserted,
    CredentialRevoked,
    CustomerAccountUpserted,
    InvitationIssued,
    InvitationRedeemed,
    OrderSubmitted,
    OrderSyncStatusChanged,
    PriceListPriceUpserted,
    ProductUpserted,
)
from contracts.scm import (
    ContactPersonV2,
    CustomerV3,
    ReleasedProduct,
    SalesOrderHeader,
    SalesOrderLine,
    SalesPriceAgreement,
    SalesUnit,
)

JANE = UUID("00000000-0000-4000-8000-00000000000a")
ORDER = UUID("00000000-0000-4000-8000-0000000000b1")
INVITATION = UUID("00000000-0000-4000-8000-0000000000c1")
COMMAND = UUID("00000000-0000-4000-8000-0000000000d1")
CREDENTIAL = UUID("00000000-0000-4000-8000-0000000000e1")
WHEN = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)

ACCOUNT = Account(
    account_number="US-001",
    name="Contoso Retail",
    currency="USD",
    customer_group="10",
    language="en-us",
    price_list="PL-US-001",
    address_street="1 Main St",
    address_city="Redmond",
    address_postal_code="98052",
    address_country="US",
    email="orders@x.example",
    credit_limit=Decimal("25000.00"),
    company="usmf",
)
CONTACT = Contact(
    contact_id=JANE,
    contact_person_id="000123",
    account_number="US-001",
    first_name="Jane",
    last_name="Contoso",
    email="jane@x.example",
    phone="+1 555 0100",
    language="en-us",
    company="usmf",
    price_list="PL-US-001",
    ship_to_country="US",
    currency="USD",
    web_roles=["authorized_user"],
)
SALES_ORDER = SalesOrder(
    sales_order_id=ORDER,
    sales_order_number=None,
    name="sales order",
    customer_account="US-001",
    invoice_account="US-001",
    contact_person_id="000123",
    currency="USD",
    price_list="PL-US-001",
    language="en-us",
    ship_to_country="US",
    delivery_address_description="delivery address description",
    ship_to_street="1 Main St",
    ship_to_city="Redmond",
    ship_to_postal_code="98052",
    requested_receipt_date=date(2025, 3, 14),
    requisition_number="REQ-7",
    processing_status="pending",
    total_amount=Decimal("123.40"),
    company="usmf",
    lines=[
        SalesOrderDetail(
            sequence_number=1,
            product_number="D0001",
            quantity=Decimal("2"),
            unit="box",
            price_per_unit=Decimal("61.70"),
            extended_amount=Decimal("123.40"),
            ship_to_country="US",
            delivery_address_description="delivery address description",
            requested_receipt_date=date(2025, 3, 14),
        )
    ],
)
PRODUCT = Product(
    product_number="D0001",
    name="Widget",
    default_unit="ea",
    units=[
        ProductUnit(symbol="ea", factor=Decimal("1")),
        ProductUnit(symbol="box", factor=Decimal("12")),
    ],
    price=Decimal("5.25"),
    default_site="1",
    default_warehouse="11",
    company="usmf",
)
PRICE = ProductPriceLevel(
    price_list="PL-US-001",
    product_number="D0001",
    unit="box",
    amount=Decimal("61.70"),
    currency="USD",
    company="usmf",
)
SUBMIT_ORDER = SubmitOrder(
    command_id=COMMAND,
    issued_by=str(JANE),
    order_id=ORDER,
    contact_id=JANE,
    requested_receipt_date=date(2025, 3, 14),
    delivery_address=DeliveryAddress(street="1 Main St", city="Redmond", postal_code="98052"),
    requisition_number="REQ-7",
    lines=[
        OrderLineRequest(product_number="D0001", quantity=Decimal("2"), unit="box"),
        OrderLineRequest(product_number="D0002", quantity=Decimal("0.5"), unit="kgs"),
    ],
)
SALES_ORDER_HEADER = SalesOrderHeader(
    dataAreaId="usmf",
    SalesOrderNumber="SO-000042",
    CDSSalesOrderId=ORDER,
    SalesOrderName="sales order",
    OrderingCustomerAccountNumber="US-001",
    InvoiceCustomerAccountNumber="US-001",
    ContactPersonId="000123",
    CurrencyCode="USD",
    PriceCustomerGroupCode="PL-US-001",
    LanguageId="en-us",
    DeliveryAddressCountryRegionISOCode="US",
    DeliveryAddressDescription="delivery address description",
    DeliveryAddressStreet="1 Main St",
    DeliveryAddressCity="Redmond",
    DeliveryAddressZipCode="98052",
    RequestedReceiptDate=date(2025, 3, 14),
    CustomerRequisitionNumber="REQ-7",
    SalesOrderProcessingStatus="Confirmed",
    OrderTotalAmount=Decimal("123.40"),
    lines=[
        SalesOrderLine(
            SalesOrderNumber="SO-000042",
            LineCreationSequenceNumber=1,
            ProductNumber="D0001",
            OrderedSalesQuantity=Decimal("2"),
            SalesUnitSymbol="box",
            SalesPrice=Decimal("61.70"),
            LineAmount=Decimal("123.40"),
            DeliveryAddressCountryRegionISOCode="US",
            DeliveryAddressDescription="delivery address description",
            RequestedReceiptDate=date(2025, 3, 14),
            ShippingSiteId="1",
            ShippingWarehouseId="11",
        )
    ],
)

SAMPLES: dict[str, Message] = {
    sample.message_type: sample
    for sample in (
        UpsertContact(
            command_id=COMMAND,
            issued_by="admin",
            contact_id=JANE,
            firstname="Jane",
            lastname="Contoso",
            email="jane@x.example",
            company="usmf",
            account_number="US-001",
            price_list="PL-US-001",
            currency="USD",
            ship_to_country="US",
            language="en-us",
            web_roles=["authorized_user"],
        ),
        InviteContact(
            command_id=COMMAND,
            issued_by="admin",
            invitation_id=INVITATION,
            contact_id=JANE,
            code_hash="sha256:" + "ab" * 32,
            expires_at=WHEN + timedelta(days=7),
        ),
        RedeemInvitation(
            command_id=COMMAND,
            issued_by="anonymous",
            code_hash="sha256:" + "ab" * 32,
            contact_id=JANE,
            credential_hash="sha256:" + "cd" * 32,
            credential_expires_at=WHEN + timedelta(days=90),
        ),
        RevokeCredential(
            command_id=COMMAND,
            issued_by="admin",
            contact_id=JANE,
            credential_id=CREDENTIAL,
        ),
        SUBMIT_ORDER,
        ContactUpserted(contact=CONTACT),
        CustomerAccountUpserted(account=ACCOUNT),
        ProductUpserted(product=PRODUCT),
        PriceListPriceUpserted(price=PRICE),
        InvitationIssued(
            invitation_id=INVITATION,
            contact_id=JANE,
            kind="group",
            max_redemptions=5,
            code_hash="sha256:" + "ab" * 32,
            expires_at=WHEN + timedelta(days=7),
        ),
        InvitationRedeemed(
            invitation_id=INVITATION,
            contact_id=JANE,
            credential_hash="sha256:" + "cd" * 32,
            redemption=2,
            expires_at=WHEN + timedelta(days=90),
        ),
        CredentialRevoked(contact_id=JANE, credential_id=CREDENTIAL, revoked_by="admin"),
        OrderSubmitted(order=SALES_ORDER, submitted_by=str(JANE)),
        OrderSyncStatusChanged(
            salesorderid=ORDER,
            status="sync_failed",
            reason="ShippingSiteId is required by SCM",
        ),
        CommandRejected(
            command_id=COMMAND,
            command_type="SubmitOrder",
            errors=[FieldError(field="lines[2].unit", message="D0001 is not sold in kgs")],
        ),
        CustomerV3(
            dataAreaId="usmf",
            CustomerAccount="US-001",
            OrganizationName="Contoso Retail",
            SalesCurrencyCode="USD",
            CustomerGroupId="10",
            PartyType="Organization",
            LanguageId="en-us",
            PriceCustomerGroupCode="PL-US-001",
            DeliveryAddressStreet="1 Main St",
            DeliveryAddressCity="Redmond",
            DeliveryAddressZipCode="98052",
            DeliveryAddressCountryRegionISOCode="US",
            PrimaryContactEmail="orders@x.example",
            CreditLimit=Decimal("25000.00"),
        ),
        ContactPersonV2(
            dataAreaId="usmf",
            ContactPersonId="000123",
            CDSContactId=JANE,
            AssociatedContactNumber="US-001",
            AssociatedContactType="Customer",
            FirstName="Jane",
            LastName="Contoso",
            PrimaryEmailAddress="jane@x.example",
            PrimaryPhoneNumber="+1 555 0100",
            LanguageId="en-us",
        ),
        SALES_ORDER_HEADER,
        ReleasedProduct(
            dataAreaId="usmf",
            ProductNumber="D0001",
            ProductName="Widget",
            SalesUnitSymbol="ea",
            SalesUnits=[
                SalesUnit(Symbol="ea", Factor=Decimal("1")),
                SalesUnit(Symbol="box", Factor=Decimal("12")),
            ],
            SalesPrice=Decimal("5.25"),
            DefaultShippingSiteId="1",
            DefaultShippingWarehouseId="11",
        ),
        SalesPriceAgreement(
            dataAreaId="usmf",
            PriceCustomerGroupCode="PL-US-001",
            ProductNumber="D0001",
            QuantityUnitSymbol="box",
            Price=Decimal("61.70"),
            PriceCurrencyCode="USD",
        ),
        DeadLetter(
            source_topic="cds.events.v1",
            partition=2,
            offset=41,
            original_key="usmf/" + str(ORDER),
            original_value='{"type": "OrderSubmitted"}',
            handler="SalesOrderHeaderMap",
            error_class="RequiredFieldMissing",
            error_message="ShippingSiteId is required by SCM",
            errors=[FieldError(field="lines.0.ShippingSiteId", message="required")],
            attempts=1,
            first_failed_at=WHEN,
            last_failed_at=WHEN,
        ),
    )
}
"""Every registered message type -> one valid payload with every field filled."""
