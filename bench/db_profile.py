"""Where the database's time goes while a campaign sends: run beside bench/campaigns.sh.

Waits for the benchmark's new database and for its campaign to start sending, turns on the database's profiler
(level 2, a large capped profile collection) for SECONDS, then groups the recorded statements by collection and
shape. Times include waiting for other writes, so they show shares, not costs.

    python3 -m venv /tmp/pv && /tmp/pv/bin/pip install pymongo
    /tmp/pv/bin/python bench/db_profile.py 12 & REALM_MONGODB_URI=mongodb://127.0.0.1:27018 BENCH_AUDIENCE=30000 bench/campaigns.sh
"""
import collections
import sys
import time

import pymongo

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 12
client = pymongo.MongoClient("mongodb://127.0.0.1:27018")
before = set(client.list_database_names())
while True:
    new = [name for name in client.list_database_names() if name.startswith("realm_bench_") and name not in before]
    if new:
        break
    time.sleep(0.2)
db = client[new[0]]
while db.campaigns.count_documents({"status": "sending"}) == 0:
    time.sleep(0.2)
try:
    db.create_collection("system.profile", capped=True, size=400_000_000)
except pymongo.errors.PyMongoError:
    pass
db.command("profile", 2)
time.sleep(seconds)
db.command("profile", 0)


def shape(entry):
    command = entry.get("command") or {}
    if entry.get("op") == "command":
        return next(iter(command), "")
    if entry.get("op") == "update" and entry.get("ns", "").endswith(".communications"):
        update = command.get("u")
        if isinstance(update, list):
            return "outcome of sends (pipeline)"
        if "$inc" in (update or {}):
            return "outcome of failures or given back"
        return "receipt " + ",".join((update or {}).get("$set", {}).keys())
    return ""


millis, count = collections.Counter(), collections.Counter()
for entry in db["system.profile"].find():
    key = (entry.get("op"), entry.get("ns", "").split(".", 1)[-1], shape(entry))
    millis[key] += entry.get("millis", 0)
    count[key] += 1
total = sum(millis.values()) or 1
print(f"database {db.name}, {seconds:.0f} s profiled")
for key, spent in millis.most_common(15):
    print(f"{spent:8d} ms {100 * spent / total:5.1f} %  n={count[key]:6d}  {' '.join(k for k in key if k)}")
