#!/usr/bin/env python3
"""Renders BENCHMARKS.md from the figures `scripts/bench` wrote to its output folder:
b1.json (tests/bench/cold_start.py), b2.json, b3.json, b4.json (fabric-bench) and package.txt
(scripts/package's size table). Every figure in the file comes from those.
Usage: render_benchmarks.py FIGURES_DIR BENCHMARKS_MD"""
import datetime
import json
import os
import pathlib
import platform
import sys

FIGURES = pathlib.Path(sys.argv[1])
DOCUMENT = pathlib.Path(sys.argv[2])


def load(name):
    path = FIGURES / name
    return json.loads(path.read_text()) if path.exists() else None


def measured(name):
    """When the figures in `name` were written (a partial rerun leaves the others as they were)."""
    path = FIGURES / name
    if not path.exists():
        return []
    stamp = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.timezone.utc)
    return [f"Measured {stamp:%Y-%m-%d %H:%M} UTC.", ""]


def number(value, digits=2):
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def machine():
    cpu = "unknown CPU"
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = next(
            line.split()[1] for line in pathlib.Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
        )
        memory = f"{int(memory) / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        memory = "unknown memory"
    return f"{os.cpu_count()} cores ({cpu}), {memory}, {platform.system()} {platform.machine()}, Python {platform.python_version()}"


def b1_section(b1):
    if not b1:
        return ["B1 was not run (no b1.json)."]
    targets = b1["targets"]
    lines = [
        f"Medians of {b1['runs']} cold starts per function and language, Rust and Python interleaved; "
        f"each process started under a local Lambda Runtime API endpoint (`tests/bench/runtime_api.py`) "
        f"and given one real invocation against the local stack. Init: exec to the first `next` poll. "
        f"Peak RSS: `VmHWM` after the first response. Target: Python/Rust init ratio at least "
        f"{targets['init_ratio_at_least']:g}, peak RSS ratio at least {targets['rss_ratio_at_least']:g}.",
        "",
        "| function | Rust init ms | Python init ms | init ratio | Rust RSS MB | Python RSS MB | RSS ratio | Rust 1st invocation ms | Python 1st invocation ms | targets met |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, entry in b1["functions"].items():
        rust, python = entry["rust"]["median"], entry["python"]["median"]
        met = entry["targets_met"]
        mb = lambda kb: None if kb is None else kb / 1024
        lines.append(
            f"| `{name}` | {number(rust['init_ms'])} | {number(python['init_ms'])} | {number(entry['init_ratio'], 1)}x "
            f"| {number(mb(rust['peak_rss_kb']), 1)} | {number(mb(python['peak_rss_kb']), 1)} | {number(entry['rss_ratio'], 1)}x "
            f"| {number(rust['first_invocation_ms'])} | {number(python['first_invocation_ms'])} "
            f"| {'init' if met['init'] else '**init missed**'}, {'RSS' if met['rss'] else '**RSS missed**'} |"
        )
    if b1.get("failures"):
        lines += ["", "Failures: " + "; ".join(b1["failures"])]
    return lines


def b2_section(b2):
    if not b2:
        return ["B2 was not run (no b2.json)."]
    lines = [
        f"A run over {b2['accounts']:,} accounts x {b2['regions']} Regions ({b2['locations']:,} locations), "
        f"every location at once, with {b2['latency_ms']} ms added to every Automation call and SSM's TPS limits "
        f"on (1 start and 3 reads a second per account and Region). From the plan to the stored and published report:",
        "",
        "| wall time | ideal the limits allow | throughput | ideal throughput | ratio (target 0.95) | last location's end -> report published (target 5 s) |",
        "|---|---|---|---|---|---|",
        f"| {number(b2['wall_seconds'], 1)} s | {number(b2['ideal_seconds'], 1)} s | {number(b2['throughput_locations_per_second'], 1)} locations/s "
        f"| {number(b2['ideal_throughput_locations_per_second'], 1)} locations/s | {number(b2['throughput_ratio'])} "
        f"| {number(b2.get('last_location_end_to_report_seconds'), 1)} s |",
        "",
        "The ideal is SSM's own run of the parents ("
        f"{number(b2['ssm_run_seconds'], 1)} s, which the fabric cannot shorten), plus one second per start after the first "
        "and a third of a second per step-listing page after the first (the central account's limits), as though the "
        "steps were listed only once the run had ended; reads in member accounts run side by side, each location being "
        "its own account and Region. The fabric lists them while SSM runs: `TrackRun` keeps every page of steps that "
        "have all ended, reading each of their child executions once "
        f"({number(b2.get('kept_while_running'))} of {number(b2['locations'])} locations kept by `TrackRun`, "
        f"{number(b2.get('kept_after_the_end'))} left to `CollectCall` once the parents ended), so the ratio can pass 1. The last location's end is the latest "
        "step end time SSM reports; the report is published when `PublishReport` answers.",
        "",
        "| phase | seconds |",
        "|---|---|",
        *[f"| {phase} | {number(seconds, 1)} |" for phase, seconds in b2["phases_seconds"]],
        "",
        "| calls | minimum | measured | of which throttled (retried) |",
        "|---|---|---|---|",
        *[
            f"| {op} | {number(b2['calls_minimum'][op])} | {number(b2['calls_measured'].get(op))} "
            f"| {number(b2['throttled'].get(op.split(' ')[0], 0))} |"
            for op in b2["calls_minimum"]
        ],
        "",
        "Throttled calls are counted per operation (a `GetAutomationExecution` count covers the central "
        "account's polls and the member accounts' reads together); every throttled call was retried once more.",
        "",
        f"Tracking: {b2['tracking_polls']['polls']} polls, one `GetAutomationExecution` per parent each, the pages kept in between "
        f"({b2['tracking_polls']['interval_seconds']} s apart; the state machine waits 30 s). Throttled calls: "
        f"{sum(b2['throttled'].values()) if b2['throttled'] else 0}.",
    ]
    return lines


def b3_section(b3):
    if not b3:
        return ["B3 was not run (no b3.json)."]
    return [
        f"The reconciler over {b3['accounts']:,} accounts x {b3['documents']} documents x {b3['regions']} Regions, "
        "nothing shared or deployed before:",
        "",
        "| wall time | `ModifyDocumentPermission` calls | documents x Regions x ceil(accounts / 20) | equal | roles deployed | `CreateStackInstances` calls |",
        "|---|---|---|---|---|---|",
        f"| {number(b3['wall_seconds'], 1)} s | {number(b3['ModifyDocumentPermission'])} | {number(b3['ModifyDocumentPermission_minimum'])} "
        f"| {'yes' if b3['calls_equal_minimum'] else '**no**'} | {number(b3['roles_deployed'])} | {number(b3['CreateStackInstances'])} |",
    ]


def b4_section(b4):
    if not b4:
        return ["B4 was not run (no b4.json)."]
    planner = b4["planner"]
    rss = planner.get("peak_rss_kib")
    return [
        f"A plan over {b4['accounts']:,} accounts in {b4['ous']} nested OUs (every account's enabled Regions read too), "
        "in a process of its own:",
        "",
        "| wall time | locations planned | calls planned | peak RSS | `ListAccountsForParent` pages (minimum) | `ListOrganizationalUnitsForParent` pages (minimum) |",
        "|---|---|---|---|---|---|",
        f"| {number(planner['wall_seconds'], 1)} s | {number(planner['locations_planned'])} | {number(planner['calls'])} "
        f"| {number(None if rss is None else rss / 1024, 1)} MB | {number(b4['ListAccountsForParent'])} ({number(b4['ListAccountsForParent_minimum'])}) "
        f"| {number(b4['ListOrganizationalUnitsForParent'])} ({number(b4['ListOrganizationalUnitsForParent_minimum'])}) |",
    ]


def deployed_section(deployed):
    if not deployed:
        return ["The deployed path was not run (no deployed.json)."]
    lines = [
        f"`infra/template.yaml` deployed on the local stack (`fabric local deploy`) with the functions' release host "
        f"binaries, over {deployed['accounts']} accounts x {deployed['regions']} Regions, at time scale "
        f"{number(deployed['time_scale'], 0)} (Wait states and retry intervals divided by it: the run state machine's "
        "30 s polls take 1 s). Measured by `scripts/bench deployed`. Each latency runs from the `put-events` call (or the schedule firing) to the report's "
        "message on the topic, through EventBridge delivery, Lambda, moto's Step Functions interpreter and the "
        "simulated SSM.",
        "",
        "| deploy | account event -> onboarding report | patch window -> run report (locations) |",
        "|---|---|---|",
        f"| {number(deployed['deploy_seconds'], 1)} s | {number(deployed['onboarding_event_to_report_seconds'], 1)} s "
        f"| {number(deployed['patch_window_to_report_seconds'], 1)} s ({deployed['patch_window_locations']}) |",
        "",
        "Each function as the local Lambda ran it (cold start: process start to its first `next`; peak RSS: the "
        "largest `VmHWM` of its sandboxes):",
        "",
        "| function | invocations | sandboxes | median cold start | peak RSS | configured memory |",
        "|---|---|---|---|---|---|",
    ]
    for name, stats in sorted(deployed["functions"].items()):
        cold = stats["cold_start_ms_median"]
        lines.append(
            f"| `{name}` | {stats['invocations']} | {stats['cold_starts']} | "
            f"{'-' if cold is None else f'{cold} ms'} | {number(stats['peak_rss_mib'], 1)} MiB | {stats['memory_mb']} MB |"
        )
    return lines


def b5_section(b5):
    if not b5:
        return ["B5 was not run (no b5.json)."]
    functions = b5["functions"]
    within = all(
        stats["peak_rss_mib"] * 1.048576 <= min(stats["memory_mb"], 512) for stats in functions.values() if stats["invocations"]
    )
    payload = b5["largest_payload"]
    lines = [
        f"One run over {b5['accounts']:,} accounts x {b5['regions']} Regions ({b5['locations']:,} locations, "
        f"{b5['skipped']:,} skipped) through the deployed fabric: `infra/template.yaml` on the local stack with the "
        "functions' release binaries, started as `fabric run` starts one (a manual input to the run state machine), "
        "through plan, start, track, collect and report. Time is compressed by the deployment's time scale "
        f"({number(b5['time_scale'], 0)}): SSM's rates are enforced that many times faster (1 start and 3 reads a "
        "second per account and Region become "
        f"{number(b5['time_scale'], 0)} and {number(3 * b5['time_scale'], 0)}), the functions pace their calls to match, "
        f"Wait states are divided by it, and each runbook step lasts {b5['step_duration_ms']} ms. No call is left out. "
        "Measured by `scripts/bench b5`.",
        "",
        "| locations | wall time | SSM running | seeding (not in the wall time) | report bytes (parts) | statuses | execution |",
        "|---|---|---|---|---|---|---|",
        f"| {number(b5['locations'])} | {number(b5['wall_seconds'], 1)} s | {number(b5['ssm_run_seconds'], 1)} s "
        f"| {number(b5['seeding_seconds'], 0)} s | {number(b5['report_bytes'])} ({b5['report_parts']}) "
        f"| {', '.join(f'{status} {number(count)}' for status, count in sorted(b5['statuses'].items()))} | {b5['execution']} |",
        "",
        "Each function's peak RSS (the largest `VmHWM` of its sandboxes) beside its configured memory"
        f" (target: within it, and at most 512 MB: {'met' if within else 'missed'}):",
        "",
        "| function | invocations | sandboxes | peak RSS | configured memory | longest invocation |",
        "|---|---|---|---|---|---|",
    ]
    for name, stats in sorted(functions.items()):
        if stats["invocations"]:
            lines.append(
                f"| `{name}` | {stats['invocations']} | {stats['sandboxes']} | {number(stats['peak_rss_mib'], 1)} MiB "
                f"| {stats['memory_mb']} MB | {number(stats['max_duration_ms'] / 1000, 1)} s |"
            )
    lines += [
        "",
        f"The largest Step Functions payload (any state's input or output, or a task's answer, over the execution's "
        f"{number(payload['history_events'])} history events): {number(payload['bytes'])} bytes, at `{payload['state']}` "
        f"(limit {number(payload['limit_bytes'])}).",
        "",
        "| calls | minimum | measured | of which throttled (retried) |",
        "|---|---|---|---|",
        *[
            f"| {op} | {number(b5['calls_minimum'][op])} | {number(b5['calls_measured'].get(op))} "
            f"| {number(b5['throttled'].get(op.split(' ')[0], 0))} |"
            for op in b5["calls_minimum"]
        ],
        "",
        f"`TrackRun` ran {b5['track_run_invocations']} times; the central account's `GetAutomationExecution` polls "
        "(one per parent per `TrackRun`) are taken out of the member accounts' count. Each Lambda sandbox keeps its own "
        "credentials, so `sts.AssumeRole` is at its minimum per sandbox, not per run.",
    ]
    return lines


# List prices, US East (N. Virginia), from the AWS pricing pages (Step Functions, Lambda, S3, SNS) as read on
# 2026-11-29. Lambda: arm64, the architecture the functions are built for.
PRICES = {
    "transition": 0.025 / 1000,
    "lambda_request": 0.20 / 1_000_000,
    "lambda_gb_second": 0.0000133334,
    "s3_put": 0.005 / 1000,
    "s3_get": 0.0004 / 1000,
    "sns_publish": 0.50 / 1_000_000,
}
PRICES_READ = "2026-11-29"

# The projection's assumptions, stated in the section.
RUNBOOK_MINUTES = 10  # how long SSM runs each location's runbook
POLL_SECONDS = 30  # the run state machine's WaitForRun
NAIVE_LAMBDA_SECONDS = 0.2  # one start per location
NAIVE_LAMBDA_GB = 0.25


def projection_section(b2, deployed):
    if not b2:
        return ["The projection needs B2's figures (no b2.json)."]
    memory = {name: stats["memory_mb"] / 1024 for name, stats in (deployed or {}).get("functions", {}).items()}
    function_of = {
        "StartRun": "StartRunFunction",
        "StartWave": "StartRunFunction",
        "TrackRun": "TrackRunFunction",
        "CollectCalls": "CollectResultsFunction",
        "CollectResults": "CollectResultsFunction",
        "PublishReport": "PublishReportFunction",
    }
    seconds = b2.get("state_seconds", {})
    gb_seconds_b2 = sum(seconds.get(state, 0) * memory.get(function, 0.25) for state, function in function_of.items())
    located = b2["locations"]
    forwarded = b2.get("forwarded_calls", {})
    tail = b2.get("last_location_end_to_report_seconds") or 0
    rows = []
    for accounts, regions in ((1_000, 4), (1_000, 20), (10_000, 4), (10_000, 20)):
        locations = accounts * regions
        scale = locations / located
        calls = -(-locations // 5_000)  # the plan's calls: 100 TargetLocations of 50 accounts
        pages = -(-locations // 50)
        runbook = RUNBOOK_MINUTES * 60
        minimum = max(runbook, (pages - 1) / 3) + (calls - 1)
        projected = minimum + POLL_SECONDS + tail
        polls = -(-int(projected) // POLL_SECONDS)
        transitions = 10 + 3 * polls + calls
        invocations = 4 + polls + calls
        gb_seconds = gb_seconds_b2 * scale
        puts = forwarded.get("s3.PUT", 0) * scale
        gets = forwarded.get("s3.GET", 0) * scale
        cost = (
            transitions * PRICES["transition"]
            + invocations * PRICES["lambda_request"]
            + gb_seconds * PRICES["lambda_gb_second"]
            + puts * PRICES["s3_put"]
            + gets * PRICES["s3_get"]
            + PRICES["sns_publish"]
        )
        naive_polls = -(-runbook // POLL_SECONDS)
        naive_minimum = max(runbook, locations / 1, locations * naive_polls / 3)
        naive_transitions = locations * (5 + 3 * naive_polls)
        naive_cost = (
            naive_transitions * PRICES["transition"]
            + locations * PRICES["lambda_request"]
            + locations * NAIVE_LAMBDA_SECONDS * NAIVE_LAMBDA_GB * PRICES["lambda_gb_second"]
            + locations * (PRICES["s3_put"] + PRICES["sns_publish"])
        )
        rows.append(
            f"| {accounts:,} x {regions} | {locations:,} | {hours(minimum)} | {hours(projected)} | {transitions:,} "
            f"| {invocations:,} / {number(gb_seconds, 0)} GB-s | {number(puts, 0)} / {number(gets, 0)} | 1 "
            f"| ${cost:,.4f} | {hours(naive_minimum)} | {naive_transitions:,} | {locations:,} | ${naive_cost:,.2f} |"
        )
    return [
        "From B2's measured calls and step durations and SSM's documented limits, what one run would take and cost "
        "in AWS. Assumed: each location's runbook runs "
        f"{RUNBOOK_MINUTES} minutes; the plan makes one call per 5,000 locations (100 target locations of 50 accounts); "
        f"the run state machine polls every {POLL_SECONDS} s. Minimum wall time: the longer of the runbook and the "
        "central account's step listing (50 steps a page, 3 pages a second), plus one second per start after the first. "
        f"Projected: that, plus one poll interval and B2's measured time from the last location's end to the report "
        f"({number(tail, 1)} s). Lambda GB-s and S3 requests are B2's measured ones scaled by the locations (durations "
        "measured on this two-core machine, shared with the local stack: an over-estimate).",
        "",
        "The naive design beside it: one Step Functions execution per location, which starts its single-location "
        "automation through one Lambda invocation from the central account (1 start a second there), polls it every "
        f"{POLL_SECONDS} s with a `GetAutomationExecution` SDK integration (3 reads a second there, shared by every "
        "execution), then stores its result (one S3 PUT) and publishes it (one SNS message).",
        "",
        "| accounts x Regions | locations | minimum wall time | fabric: projected | Step Functions transitions "
        "| Lambda invocations / GB-s | S3 PUT / GET | SNS | fabric: USD per run "
        "| naive: minimum wall time | naive: transitions | naive: Lambda invocations | naive: USD per run |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"List prices, US East (N. Virginia), read {PRICES_READ} from the AWS pricing pages: Step Functions standard "
        "workflows $0.025 per 1,000 state transitions; Lambda $0.20 per million requests and $0.0000133334 per GB-s "
        "(arm64); S3 Standard $0.005 per 1,000 PUT and $0.0004 per 1,000 GET requests; SNS $0.50 per million "
        "publishes. Free tiers are left out, and so is SSM Automation's own charge per step, the same in both designs.",
    ]


def hours(seconds):
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds / 60:,.1f} min"


def sizes_section(text):
    if not text:
        return ["Packaging was not run (no package.txt)."]
    rows = [line.split() for line in text.splitlines() if line and line.split()[0] not in ("function",) and len(line.split()) == 3]
    lines = [
        "`cargo lambda build --release --arm64` (the workspace's release profile), target 5 MB each:",
        "",
        "| function | zip bytes | zip MB |",
        "|---|---|---|",
    ]
    lines += [f"| `{name}` | {int(size):,} | {mb} |" for name, size, mb in rows if size.isdigit()]
    return lines


def main():
    b1, b2, b3, b4, b5 = (load(f"b{n}.json") for n in range(1, 6))
    deployed = load("deployed.json")
    package = (FIGURES / "package.txt").read_text() if (FIGURES / "package.txt").exists() else None
    notes = (FIGURES / "notes.md").read_text().strip() if (FIGURES / "notes.md").exists() else ""
    now = datetime.datetime.now(datetime.timezone.utc)
    lines = [
        "# Benchmarks",
        "",
        "Every figure below was measured by one command, `scripts/bench`, which wrote this file "
        f"({now:%Y-%m-%d %H:%M} UTC; each section says when its figures were measured) on {machine()}. The machine is shared and noisy: B1 reports medians "
        "and ratios of interleaved runs; the others are single runs of minutes each, against the local stack "
        "(moto and the SSM Automation simulator, both on this machine).",
        "",
        "Rerun: `scripts/bench` (about an hour: it builds the release binaries, seeds organizations of up to 10,000 "
        "accounts, and writes BENCHMARKS.md and RELIABILITY.md's figures). One benchmark: `scripts/bench b2` "
        "(b1, b2, b3, b4, b5, deployed, sizes, reliability, fuzz).",
        "",
        "## B1: init and memory, Rust against Python",
        "",
        *measured("b1.json"),
        *b1_section(b1),
        "",
        "## B2: fan-out",
        "",
        *measured("b2.json"),
        *b2_section(b2),
        "",
        "## B3: onboarding at scale",
        "",
        *measured("b3.json"),
        *b3_section(b3),
        "",
        "## B4: organization size",
        "",
        *measured("b4.json"),
        *b4_section(b4),
        "",
        "## B5: internet scale",
        "",
        *measured("b5.json"),
        *b5_section(b5),
        "",
        "## Projection to AWS: time and cost per run",
        "",
        *measured("b2.json"),
        *projection_section(b2, deployed),
        "",
        "## The deployed path",
        "",
        *measured("deployed.json"),
        *deployed_section(deployed),
        "",
        "## Zip sizes",
        "",
        *measured("package.txt"),
        *sizes_section(package),
    ]
    if notes:
        lines += ["", "## Where a target is missed", "", notes]
    DOCUMENT.write_text("\n".join(lines) + "\n")
    print(f"{DOCUMENT}: written")


if __name__ == "__main__":
    main()
