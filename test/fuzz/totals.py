"""Totals of schemathesis NDJSON reports (one per role) for scripts/fuzz-api.sh.

Prints per report and overall: operations tested, test cases generated, responses by status class,
failures by check (a check failing on one test case counts once) and errors (operations
schemathesis could not test). The last line is
`fuzz: N operations, N test cases, N failures, N errors`; exit status 1 when failures or errors.
Also writes the same figures as JSON to $FUZZ_TOTALS_JSON when set (the vitest wrapper reads it).
"""

import collections
import json
import os
import sys


def summarize(path):
    operations = 0
    cases = set()
    failures = collections.Counter()
    statuses = collections.Counter()
    errors = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            event = json.loads(line)
            if "LoadingFinished" in event:
                operations = event["LoadingFinished"]["statistic"]["operations"]["selected"]
            elif "NonFatalError" in event:
                e = event["NonFatalError"]
                errors.append(f"{e.get('label')}: {e['value'].get('type')}: {e['value'].get('message', '')[:200]}")
            elif "ScenarioFinished" in event:
                recorder = event["ScenarioFinished"]["recorder"]
                label = recorder.get("label", "?")
                for case_id in recorder.get("cases", {}):
                    cases.add(case_id)
                for case_id, checks in recorder.get("checks", {}).items():
                    for check in {c["name"] for c in checks if c.get("status") == "failure"}:
                        failures[(check, label)] += 1
                for interaction in recorder.get("interactions", {}).values():
                    response = interaction.get("response") or {}
                    code = response.get("status_code")
                    statuses[f"{code // 100}xx" if isinstance(code, int) else "no response"] += 1
    return {
        "operations": operations,
        "cases": len(cases),
        "statuses": dict(sorted(statuses.items())),
        "failures": [{"check": k[0], "operation": k[1], "cases": n} for k, n in sorted(failures.items())],
        "errors": errors,
    }


def main(paths):
    total = {"operations": 0, "cases": 0, "failures": 0, "errors": 0, "by_check": collections.Counter(), "reports": {}}
    for path in paths:
        role = os.path.basename(path).rsplit(".", 1)[0]
        s = summarize(path)
        total["reports"][role] = s
        total["operations"] = max(total["operations"], s["operations"])
        total["cases"] += s["cases"]
        total["failures"] += sum(f["cases"] for f in s["failures"])
        total["errors"] += len(s["errors"])
        for f in s["failures"]:
            total["by_check"][f["check"]] += f["cases"]
        print(f"fuzz [{role}]: {s['operations']} operations, {s['cases']} test cases, responses {s['statuses']}")
        for f in s["failures"]:
            print(f"fuzz [{role}]:   FAIL {f['check']} on {f['operation']} ({f['cases']} cases)")
        for e in s["errors"]:
            print(f"fuzz [{role}]:   ERROR {e}")
    by_check = ", ".join(f"{k}: {v}" for k, v in sorted(total["by_check"].items())) or "none"
    print(f"fuzz: failures by check: {by_check}")
    out = os.environ.get("FUZZ_TOTALS_JSON")
    if out:
        with open(out, "w", encoding="utf-8") as f:
            json.dump({**total, "by_check": dict(total["by_check"])}, f, indent=2)
    print(
        f"fuzz: {total['operations']} operations, {total['cases']} test cases, "
        f"{total['failures']} failures, {total['errors']} errors"
    )
    return 1 if total["failures"] or total["errors"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
