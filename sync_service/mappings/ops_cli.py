"""The mapping ops verbs of `dualsync`: `deadletters` (list, redrive, discard), `maps`."""

from __future__ import annotations

import argparse
from uuid import UUID

from sync_service.settings import Settings

__all__ = ["add_mapping_verbs", "run_mapping_verb"]


def add_mapping_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `deadletters` and `maps` verbs to the CLI's parser."""
    from sync_service.mappings import MAPS

    maps = verbs.add_parser("maps", help="pause and resume the CDS <-> SCM maps")
    map_actions = maps.add_subparsers(dest="maps_verb", required=True)
    map_actions.add_parser("list", help="every map and whether it is paused")
    for action in ("pause", "resume"):
        chosen = map_actions.add_parser(action, help=f"{action} a map (within a second)")
        chosen.add_argument("name", choices=sorted(MAPS))

    letters = verbs.add_parser("deadletters", help="records the mapping workers could not apply")
    actions = letters.add_subparsers(dest="deadletters_verb", required=True)
    listing = actions.add_parser("list", help="open dead letters (oldest first)")
    listing.add_argument("--all", action="store_true", help="also redriven and discarded ones")
    redrive = actions.add_parser("redrive", help="re-validate against current data and apply")
    redrive.add_argument("dead_letter_id", type=UUID)
    discard = actions.add_parser("discard", help="give the record up; its key moves on")
    discard.add_argument("dead_letter_id", type=UUID)
    discard.add_argument("--reason", required=True)


async def run_mapping_verb(args: argparse.Namespace, settings: Settings) -> int:
    """Run a `deadletters` or `maps` verb; status 1 when a dead letter is not open or fails."""
    if args.verb == "maps":
        return await _maps(args, settings)
    from sync_service.mappings.publishing import connected
    from sync_service.mappings.redrive import DeadLetterNotOpen
    from sync_service.mappings.workers import dead_letter_ops

    async with connected(settings) as (engine, publish):
        ops = dead_letter_ops(engine, settings, publish)
        if args.deadletters_verb == "list":
            for row in await ops.list(None if args.all else "open"):
                print(
                    f"{row['dead_letter_id']}  {row['status']:<9} {row['consumer']:<18} "
                    f"key={row['record_key']} parked={row['parked']} "
                    f"{row['error_message']}"
                )
            return 0
        try:
            if args.deadletters_verb == "redrive":
                result = await ops.redrive(args.dead_letter_id)
            else:
                result = await ops.discard(args.dead_letter_id, args.reason)
        except DeadLetterNotOpen as exc:
            print(f"dualsync: {exc}")
            return 1
        print(f"{result.outcome}; {result.released} parked records released")
        if result.error:
            print(f"still failing: {result.error}")
        return 0 if result.outcome != "still_failing" else 1


async def _maps(args: argparse.Namespace, settings: Settings) -> int:
    from sync_service.connectivity import check_database
    from sync_service.db.engine import create_engine
    from sync_service.mappings import MAPS
    from sync_service.mappings.pausing import set_paused, states

    await check_database(settings.database_url, settings.connect_timeout_s)
    engine = create_engine(settings.database_url, connect_timeout_s=settings.connect_timeout_s)
    try:
        if args.maps_verb != "list":
            await set_paused(engine, args.name, args.maps_verb == "pause")
        for name, paused in (await states(engine, sorted(MAPS))).items():
            print(f"{name:<22} {'paused' if paused else 'running'}")
    finally:
        await engine.dispose()
    return 0
