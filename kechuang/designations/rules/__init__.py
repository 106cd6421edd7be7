"""Eligibility rules (资格条件) and screening (资格预审): which enterprises could qualify for a
designation, and what each still lacks — the cultivation pool (培育库) a bureau keeps.

Rule sets are data (data/*.yaml, one file per version of a designation's rules, each in force
from a date); one engine evaluates them all. See docs/eligibility.md.

    definitions.py   what a rule set is made of
    loader.py        reading, checking and caching the YAML files
    engine.py        evaluating one enterprise's facts; closeness
    facts.py         fetching many enterprises' facts in a fixed number of queries
    explain.py       the bilingual explanations
    screening.py     the use cases: find a rule set, screen one enterprise, screen a region
    report.py        what the CLI and the API print
    api.py           the REST views (urls: kechuang/designations/urls_screening.py)
"""
