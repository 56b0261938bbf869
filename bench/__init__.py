"""dualsync's benchmark (issue 7): throughput, latency, memory, rebuild and initial sync.

Run it with `make bench` (brings Kafka and PostgreSQL up first) or `.venv/bin/python -m bench`;
`make bench BENCH_ARGS=--smoke` is the quick version the tests run. Every run uses a database
(`dualsync_bench_<time>_<id>`, migrated and loaded with the demo data) and a topic prefix
(`bench-<id>.`) of its own, dropped at the end unless `--keep`, so `make run`'s data is never
touched. The services run as separate processes, exactly as `dualsync run <service>` runs them:
api, command-processor, relay, projections and outbound (no ERP simulator, no inbound worker:
nothing in the bench speaks for the ERP). A warm-up order through the whole pipeline proves them
ready before anything is timed.

Scenarios (`--only` picks some, comma-separated):

1. `baseline`: plain aiokafka pass-through on the same broker; produce N order-sized messages
   to topic A, a forwarder process passes each to topic B, a reader counts them: msgs/s.
2. `throughput`: N SubmitOrder commands (three lines each, built as the API builds them) put
   straight on portal.commands.v1; time until every order is on scm.salesorders.v1 and in the
   order view: orders/s.
3. `latency`: orders offered through `POST /orders` at a fixed rate (open loop) for D seconds;
   p50/p95/p99 of submit -> on scm.salesorders.v1 (Kafka timestamp) and submit -> seen in
   `GET /orders` (polled every 20 ms).
4. `memory`: peak RSS (VmHWM) of every service process after all scenarios, and of the one-off
   rebuild and initial-sync commands while they ran.
5. `rebuild`: `dualsync projections rebuild` over what the earlier scenarios stored: events/s.
6. `initial-sync`: `dualsync initial-sync` on a generated export (customers, products, price
   agreements, sales orders): records/s.

A scenario that runs past its time limit reports the rate reached so far and says so. The table
goes to stdout, progress to stderr, the figures to `bench/results/<date>.json` (`--out`).
`--profile` samples every service with py-spy during the throughput and latency runs and writes
collapsed stacks and a top list per service to `bench/results/profiles/<time>/<phase>/`.

Order of a full run: baseline; services up; throughput (should it leave a backlog, latency gets
fresh topics and services so that the backlog does not count as latency); latency; services
stopped (their peak RSS read first); then initial sync and, last, rebuild (which so replays
everything the others stored) with the machine otherwise quiet.
"""
