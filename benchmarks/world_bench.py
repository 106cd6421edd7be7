"""World-file benchmark: load a district-sized file, reload it unchanged, dump it.

    .venv/bin/python benchmarks/world_bench.py --organisations 3000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kechuang_bench \
        .venv/bin/python benchmarks/world_bench.py --organisations 3000

A district holds about 3,000 enterprises (docs/design.md). The file is the demo's
synthetic generator scaled up: every organisation has a location, a sector and a USCC;
every tenth also an alias, an owner, a milestone, a capacity and a contact.
"""

import argparse

from common import fresh_database, once


def document(count: int) -> dict:
    from kechuang.demo.synthetic import HIGH_TECH_SECTORS
    from kechuang.registry import uscc

    organisations = []
    for n in range(count):
        org = {
            "key": f"bench-{n:05d}",
            "kind": "enterprise",
            "name_zh": f"南通基准企业{n}有限公司(demo)",
            "name_en": f"Nantong Bench Enterprise {n} Co Ltd (demo)",
            "uscc": uscc.make("91320612", f"{n:08d}"),
            "sectors": [HIGH_TECH_SECTORS[n % len(HIGH_TECH_SECTORS)][0]],
            "synthetic": True,
            "locations": [{"region": "320612", "valid_from": "2015"}],
        }
        if n % 10 == 0 and n:
            org.update({
                "aliases": [{"name": f"基准{n}"}],
                "owners": [{"owner": "bench-00000", "share_percent": 51}],
                "milestones": [{"date": "2022-11", "kind": "trial_production", "text_en": "First trial production."}],
                "capacities": [{"product_en": "Pumps", "quantity": 13000, "unit": "units", "as_of": "2023-09-04"}],
                "contacts": [{"name_en": f"Person {n}", "role_en": "General manager"}],
            })
        organisations.append(org)
    return {
        "kechuang": 1,
        "sectors": [{"code": c, "name_zh": zh, "name_en": en} for c, zh, en in HIGH_TECH_SECTORS],
        "organisations": organisations,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--organisations", type=int, default=3000)
    args = parser.parse_args()
    fresh_database("bench-world")

    from django.db import connection

    from kechuang.registry.divisions import load_divisions
    from kechuang.world.dumper import dump_text
    from kechuang.world.formats import parse_yaml
    from kechuang.world.loader import load_world

    print(f"database: {connection.vendor}; organisations: {args.organisations:,}")
    once("load-divisions, whole country with the towns of Nantong", lambda: load_divisions(towns=["3206"]))
    world = document(args.organisations)
    once(f"first load of {args.organisations:,} organisations", lambda: load_world(world))
    once("reload, nothing changed", lambda: load_world(world))
    text = once("dump --region 320612 (YAML text)", lambda: dump_text(region="320612"))
    parsed = once("parse the dump", lambda: parse_yaml(text))
    once("load the dump back (all unchanged)", lambda: load_world(parsed))
    print(f"  dump size: {len(text.encode()) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
