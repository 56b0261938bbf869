"""A simulated ERP (`dualsync erp-sim`): numbers the portal's orders and answers like SCM would."""

from sync_service.erp_sim.demo import demo_messages
from sync_service.erp_sim.lifecycle import StatusDelays, parse_duration
from sync_service.erp_sim.order_book import OrderBook
from sync_service.erp_sim.publishing import publish_demo
from sync_service.erp_sim.simulator import (
    CONSUMER_GROUP,
    ErpSimulator,
    Handled,
    run_erp_sim,
    running_erp_sim,
)

__all__ = [
    "CONSUMER_GROUP",
    "ErpSimulator",
    "Handled",
    "OrderBook",
    "StatusDelays",
    "demo_messages",
    "parse_duration",
    "publish_demo",
    "run_erp_sim",
    "running_erp_sim",
]
