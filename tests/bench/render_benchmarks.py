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
        "| wall time | ideal the limits allow | throughput | ideal throughput | ratio (target 0.8) |",
        "|---|---|---|---|---|",
        f"| {number(b2['wall_seconds'], 1)} s | {number(b2['ideal_seconds'], 1)} s | {number(b2['throughput_locations_per_second'], 1)} locations/s "
        f"| {number(b2['ideal_throughput_locations_per_second'], 1)} locations/s | {number(b2['throughput_ratio'])} |",
        "",
        "The ideal is SSM's own run of the parents ("
        f"{number(b2['ssm_run_seconds'], 1)} s, which the fabric cannot shorten), plus one second per start after the first "
        "and a third of a second per step-listing page after the first (the central account's limits); reads in member "
        "accounts run side by side, each location being its own account and Region.",
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
        f"Tracking: {b2['tracking_polls']['polls']} polls, one `GetAutomationExecution` per parent each "
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
    b1, b2, b3, b4 = (load(f"b{n}.json") for n in range(1, 5))
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
        "(b1, b2, b3, b4, deployed, sizes, reliability, fuzz).",
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
