"""The mapping ops verbs of `dualsync`: `deadletters` (list, show, redrive, discard), `maps`.

Each action is logged in `ops_actions` as `cli:<--by>`, by default `cli:<OS user>`. Listing and
showing need only PostgreSQL; redrive and discard also publish to Kafka.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from sync_service.settings import Settings

__all__ = ["add_mapping_verbs", "run_mapping_verb"]

EXIT_INVALID = 2


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc


def _filters(parser: argparse.ArgumentParser) -> None:
    from sync_service.mappings import MAPS

    parser.add_argument("--map", choices=sorted(MAPS), help="only this map's dead letters")
    parser.add_argument("--error-class", help="only this error kind, e.g. UnknownReference")
    parser.add_argument("--company", help="only this company (legal entity), e.g. usmf")
    parser.add_argument(
        "--since", type=_moment, help="first failed at or after (ISO 8601, with zone)"
    )
    parser.add_argument("--until", type=_moment, help="first failed before (ISO 8601, with zone)")


def _by(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--by", help="who acts, for the ops log (default: your OS user)")


def add_mapping_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `deadletters` and `maps` verbs to the CLI's parser."""
    from sync_service.mappings import MAPS
    from sync_service.mappings.redrive import STATUSES

    maps = verbs.add_parser("maps", help="pause and resume the CDS <-> SCM maps")
    map_actions = maps.add_subparsers(dest="maps_verb", required=True)
    listing = map_actions.add_parser("list", help="every map: state, who paused it, counters")
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")
    for action in ("pause", "resume"):
        chosen = map_actions.add_parser(action, help=f"{action} a map (within a second)")
        chosen.add_argument("name", choices=sorted(MAPS))
        if action == "pause":
            chosen.add_argument("--reason", help="a note for the other ops people")
        _by(chosen)

    letters = verbs.add_parser("deadletters", help="records the mapping workers could not apply")
    actions = letters.add_subparsers(dest="deadletters_verb", required=True)
    listing = actions.add_parser("list", help="dead letters, newest first (open ones by default)")
    listing.add_argument("--all", action="store_true", help="also redriven and discarded ones")
    listing.add_argument("--status", choices=STATUSES, help="only this status")
    _filters(listing)
    listing.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    listing.add_argument("--cursor", help="the next page, as the previous one printed")
    listing.add_argument("--json", action="store_true", help="JSON instead of lines")
    show = actions.add_parser("show", help="one dead letter whole, as JSON, with its ops log")
    show.add_argument("dead_letter_id", type=UUID)
    redrive = actions.add_parser("redrive", help="re-validate against current data and apply")
    redrive.add_argument("dead_letter_id", type=UUID, nargs="?")
    redrive.add_argument(
        "--all-matching", action="store_true",
        help="every open dead letter matching the filters (oldest first), instead of one id",
    )  # fmt: skip
    _filters(redrive)
    _by(redrive)
    discard = actions.add_parser("discard", help="give the record up; its key moves on")
    discard.add_argument("dead_letter_id", type=UUID)
    discard.add_argument("--reason", required=True)
    _by(discard)


@asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[AsyncEngine]:
    from sync_service.connectivity import check_database
    from sync_service.db.engine import create_engine

    await check_database(settings.database_url, settings.connect_timeout_s)
    engine = create_engine(settings.database_url, connect_timeout_s=settings.connect_timeout_s)
    try:
        yield engine
    finally:
        await engine.dispose()


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, default=str, ensure_ascii=False)


async def run_mapping_verb(args: argparse.Namespace, settings: Settings) -> int:
    """Run a `deadletters` or `maps` verb; status 1 when a dead letter is not open or fails,
    2 for a bad filter."""
    from sync_service.ops.actions import FilterInvalid

    try:
        if args.verb == "maps":
            return await _maps(args, settings)
        return await _dead_letters(args, settings)
    except FilterInvalid as invalid:
        print(f"dualsync: {invalid}")
        return EXIT_INVALID


def _filter_of(args: argparse.Namespace, status: str) -> Any:
    from sync_service.mappings.redrive import DeadLetterFilter, Status

    return DeadLetterFilter(
        cast(Status, status), args.map, args.error_class, args.company, args.since, args.until
    )


async def _dead_letters(args: argparse.Namespace, settings: Settings) -> int:
    from sync_service.ops import actions

    verb = args.deadletters_verb
    if verb in ("list", "show"):
        async with _database(settings) as engine:
            if verb == "show":
                row = await actions.get_dead_letter(engine, args.dead_letter_id)
                if row is None:
                    print(f"dualsync: no dead letter {args.dead_letter_id}")
                    return 1
                print(_json(row))
                return 0
            status = args.status or ("all" if args.all else "open")
            page = await actions.list_dead_letters(
                engine, _filter_of(args, status), limit=args.limit, cursor=args.cursor
            )
        if args.json:
            print(_json({"items": page.items, "next_cursor": page.next_cursor}))
            return 0
        for row in page.items:
            print(
                f"{row['dead_letter_id']}  {row['status']:<9} {row['map_name'] or '-':<20} "
                f"{row['company'] or '-':<5} {row['first_failed_at']:%Y-%m-%dT%H:%M:%SZ} "
                f"key={row['record_key']} parked={row['parked']} "
                f"{row['error_class']}: {row['error_message']}"
            )
        if page.next_cursor:
            print(f"more: --cursor {page.next_cursor}")
        return 0
    return await _act_on_dead_letters(args, settings)


async def _act_on_dead_letters(args: argparse.Namespace, settings: Settings) -> int:
    from sync_service.mappings.publishing import connected
    from sync_service.mappings.redrive import DeadLetterNotOpen, DeadLetterNotRedrivable
    from sync_service.mappings.workers import dead_letter_ops
    from sync_service.ops import actions

    actor = actions.cli_actor(args.by)
    if args.deadletters_verb == "redrive" and args.all_matching == (
        args.dead_letter_id is not None
    ):
        print("dualsync: give one dead letter id, or --all-matching with filters")
        return EXIT_INVALID
    async with connected(settings) as (engine, publish):
        ops = dead_letter_ops(engine, settings, publish)
        if args.deadletters_verb == "redrive" and args.all_matching:
            counts = await actions.redrive_matching(engine, ops, _filter_of(args, "open"), actor)
            print(_json(counts.as_dict()))
            return 0 if counts.still_failing == 0 and counts.stopped is None else 1
        try:
            if args.deadletters_verb == "redrive":
                result = await actions.redrive_dead_letter(ops, args.dead_letter_id, actor)
            else:
                result = await actions.discard_dead_letter(
                    ops, args.dead_letter_id, actor, args.reason
                )
        except (DeadLetterNotOpen, DeadLetterNotRedrivable) as exc:
            print(f"dualsync: {exc}")
            return 1
    print(f"{result.outcome}; {result.released} parked records released")
    if result.error:
        print(f"still failing: {result.error}")
    return 0 if result.outcome != "still_failing" else 1


async def _maps(args: argparse.Namespace, settings: Settings) -> int:
    from sync_service.ops import actions

    async with _database(settings) as engine:
        if args.maps_verb == "pause":
            await actions.pause_map(engine, args.name, actions.cli_actor(args.by), args.reason)
        elif args.maps_verb == "resume":
            await actions.resume_map(engine, args.name, actions.cli_actor(args.by))
        overview = await actions.map_overview(engine, settings)
    if getattr(args, "json", False):
        print(_json([m.as_dict() for m in overview]))
        return 0
    for m in overview:
        state = "paused" if m.paused else "running"
        by = f"by {m.paused_by} ({m.paused_reason})" if m.paused else ""
        print(
            f"{m.name:<22} {state:<7} {m.direction:<8} open={m.open_dead_letters} "
            f"in_window={m.dead_letters_in_window} parked={m.parked_records} {by}"
            + (f" {m.note}" if m.note else "")
        )
    return 0
