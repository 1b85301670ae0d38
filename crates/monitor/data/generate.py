"""Writes config-managed-rules.tsv: AWS Config managed rule identifiers, their trigger type and
parameters, from the copy of AWS's list that moto (pinned in xtask, 5.2.5) ships.

Run: .venv/bin/python crates/monitor/data/generate.py
"""
import gzip
import json
import pathlib

import moto

source = pathlib.Path(moto.__file__).parent / "config" / "resources" / "aws_managed_rules.json.gz"
rules = json.load(gzip.open(source))["ManagedRules"]
out = pathlib.Path(__file__).parent / "config-managed-rules.tsv"
with out.open("w") as f:
    f.write("# identifier\ttrigger\tparameters (name:type, ? = optional)\n")
    for identifier in sorted(rules):
        rule = rules[identifier]
        params = ",".join(
            f"{p['Name']}:{p.get('Type', 'string')}{'?' if p.get('Optional') else ''}" for p in rule.get("Parameters", [])
        )
        f.write(f"{identifier}\t{rule.get('Trigger type', '')}\t{params}\n")
print(f"{len(rules)} rules -> {out}")
