"""I/O-style function: reshape a JSON batch of sensor readings.

Body: {"readings": [{"device": "d1", "metric": "temp", "value": 21.5, "ts": 1700000000}, ...]}
Answer: per device and metric, count/min/max/mean and the first/last timestamps,
devices sorted by name; readings without a numeric value are counted as rejected.
"""
import json


def bad(message):
    return {"statusCode": 400, "body": {"error": message}}


def handle(event, context):
    try:
        doc = json.loads(event.body.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return bad("body must be JSON: %s" % err)
    if not isinstance(doc, dict) or not isinstance(doc.get("readings"), list):
        return bad('expected {"readings": [...]}')
    devices = {}
    rejected = 0
    for r in doc["readings"]:
        value = r.get("value") if isinstance(r, dict) else None
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not isinstance(r.get("device"), str):
            rejected += 1
            continue
        m = devices.setdefault(r["device"], {}).setdefault(str(r.get("metric", "value")), {"count": 0, "sum": 0.0, "min": value, "max": value, "first": None, "last": None})
        m["count"] += 1
        m["sum"] += value
        m["min"] = min(m["min"], value)
        m["max"] = max(m["max"], value)
        ts = r.get("ts")
        if isinstance(ts, (int, float)):
            m["first"] = ts if m["first"] is None else min(m["first"], ts)
            m["last"] = ts if m["last"] is None else max(m["last"], ts)
    out = []
    for name in sorted(devices):
        metrics = {}
        for metric, m in sorted(devices[name].items()):
            metrics[metric] = {"count": m["count"], "min": m["min"], "max": m["max"], "mean": round(m["sum"] / m["count"], 6), "first": m["first"], "last": m["last"]}
        out.append({"device": name, "metrics": metrics})
    return {"statusCode": 200, "body": {"devices": out, "accepted": len(doc["readings"]) - rejected, "rejected": rejected}}
