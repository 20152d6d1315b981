"""Independent reference for tests/prboost/rules.test.ts: the WRENCH keyword rules on AG News test.csv
with plain Python (csv + json), every tie policy. Run: .venv/bin/python tests/prboost/rule_figures.py DATA_DIR"""
import collections
import csv
import json
import sys

data = sys.argv[1] if len(sys.argv) > 1 else "../shared/data"
rules = json.load(open(f"{data}/ag_news/keyword_rules.json"))["rules"]
rows = list(csv.DictReader(open(f"{data}/ag_news/test.csv", encoding="utf8")))
votes = []
for r in rows:
    text = (r["title"] + " " + r["description"]).lower()
    votes.append((int(r["label"]), [u["label"] for u in rules if any(k in text for k in u["keywords"])]))


def tied(fired):
    cnt = collections.Counter(fired)
    top = max(cnt.values())
    return [v for v in fired if cnt[v] == top]


POLICIES = {
    "majority-first": lambda f: tied(f)[0],
    "majority-last": lambda f: tied(f)[-1],
    "first-firing": lambda f: f[0],
    "last-firing": lambda f: f[-1],
    "majority-abstain": lambda f: tied(f)[0] if len(set(tied(f))) == 1 else None,
    "unanimous": lambda f: f[0] if len(set(f)) == 1 else None,
}
for name, pick in POLICIES.items():
    labelled = [(y, pick(f)) for y, f in votes if f and pick(f) is not None]
    print(f"{name}: coverage {len(labelled) / len(rows):.10f} accuracy {sum(y == p for y, p in labelled) / len(labelled):.10f}")
