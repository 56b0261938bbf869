"""dualsync's crash test (`make chaos`, `python -m bench.chaos`): kill it and count every order.

Every dualsync service runs twice, each replica a process of its own (`dualsync run <service>`;
the relay's second replica stands by), the APIs on two ports, beside one ERP simulator that
numbers the orders and answers on scm.inbound.v1. Clients send N orders through `POST /orders`
as the Administrator and the demo contacts, each with an Idempotency-Key, retrying against the
other API on errors (bench/chaos/load.py). Meanwhile random replicas get `kill -9` and come back
a second later, and optionally Kafka and PostgreSQL restart once each, on a private stack.
Then a bounded drain, and the verdict (bench/chaos/verdict.py): accepted, stored once, on SCM
once per key, visible, numbered, lost, views equal to a rebuild, answers 500, exits that were
not kills. Exit 0 when clean, 1 when not.

Like the bench, a run has a database and topic prefix of its own (bench/sandbox.py), on the
shared stack when nothing restarts, and on a private one for the parts that do.
"""

__all__: list[str] = []
