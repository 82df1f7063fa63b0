"""Tests of the benchmark script's pure parts: `python3 -m unittest discover -s benches`.

No benchmark runs here: statistics, judgments, rendering, stamps and sampling only.
"""

import contextlib
import io
import tempfile
import unittest
from pathlib import Path

import bench
import gentree
from bench import Baseline, Facts, Options, Row, Series, Stats

GNU_TIME = """\tCommand being timed: "tagpin check ."
\tUser time (seconds): 0.42
\tSystem time (seconds): 0.08
\tPercent of CPU this job got: 180%
\tMaximum resident set size (kbytes): 51234
\tExit status: 1
"""


def st(median_us, rss_kb=None):
    return Stats(median_us, median_us, median_us, 5, rss_kb, None)


class Args(unittest.TestCase):
    def parse_error(self, argv):
        with self.assertRaises(SystemExit) as cm, contextlib.redirect_stderr(io.StringIO()) as err:
            bench.parse_args(argv)
        self.assertEqual(cm.exception.code, 2)
        return err.getvalue()

    def test_defaults_are_the_target_size(self):
        self.assertEqual(bench.parse_args([]), Options(files=20_000, reps=5, peer_files=1000))

    def test_peer_files(self):
        self.assertEqual(bench.parse_args(["--files", "5000", "--peer-files", "all"]).peer_files, 5000)
        self.assertEqual(bench.parse_args(["--files", "1000", "--peer-files", "3000"]).peer_files, 1000)
        self.assertIn("--peer-files must be >= 100 or all", self.parse_error(["--peer-files", "50"]))
        self.assertIn("--peer-files", self.parse_error(["--peer-files", "some"]))

    def test_bounds(self):
        self.assertIn("--files must be 1000..20000", self.parse_error(["--files", "999"]))
        self.assertIn("--files must be 1000..20000", self.parse_error(["--files", "20001"]))
        self.assertIn("--reps must be >= 1", self.parse_error(["--reps", "0"]))
        self.assertIn("--timeout", self.parse_error(["--timeout", "0"]))

    def test_peer_reps_at_most_three(self):
        self.assertEqual(bench.parse_args(["--reps", "2"]).peer_reps, 2)
        self.assertEqual(bench.parse_args(["--reps", "9"]).peer_reps, 3)


class Statistics(unittest.TestCase):
    def test_median(self):
        self.assertEqual(bench.median([5, 1, 3]), 3)
        self.assertEqual(bench.median([4, 1, 3, 2]), 2)  # (2 + 3) / 2, truncated

    def test_stats(self):
        s = bench.stats(Series([300, 100, 200, 400], [(10, 50), (30, 70), (20, 60), (5, 90)]))
        self.assertEqual(s, Stats(median_us=250, min_us=100, max_us=400, runs=4, rss_kb=30, cpu_us=65))

    def test_stats_of_hyperfine_series_with_fewer_rusage_runs(self):
        s = bench.stats(Series([10, 20, 30, 40, 50], [(7, 1)]))
        self.assertEqual((s.median_us, s.runs, s.rss_kb, s.cpu_us), (30, 5, 7, 1))

    def test_no_stats_for_failed_or_empty_series(self):
        self.assertIsNone(bench.stats(Series([100], [(1, 1)], failure="exit 2")))
        self.assertIsNone(bench.stats(Series()))
        self.assertIsNone(bench.stats(None))
        self.assertIsNone(bench.stats(Series([100], [])).rss_kb)

    def test_parse_gnu_time(self):
        self.assertEqual(bench.parse_gnu_time(GNU_TIME), (51234, 500_000))
        with self.assertRaises(ValueError):
            bench.parse_gnu_time("Command terminated by signal 9\n")

    def test_parse_hyperfine(self):
        data = {
            "results": [
                {"command": "a", "times": [0.0015, 0.0025], "exit_codes": [0, 1]},
                {"command": "b", "times": [1.0], "exit_codes": [2]},
            ]
        }
        self.assertEqual(bench.parse_hyperfine(data), [([1500, 2500], [0, 1]), ([1_000_000], [2])])

    def test_bad_exit(self):
        self.assertIsNone(bench.bad_exit([0, 1, 0], (0, 1)))
        self.assertEqual(bench.bad_exit([0, 2], (0, 1)), "exit 2")
        self.assertEqual(bench.bad_exit([124], (0,)), "timed out")


class Formatting(unittest.TestCase):
    def test_fmt_us(self):
        self.assertEqual(bench.fmt_us(3_210), "3.2 ms")
        self.assertEqual(bench.fmt_us(123_456), "123 ms")
        self.assertEqual(bench.fmt_us(1_500_000), "1.50 s")

    def test_fmt_kb_and_cpu(self):
        self.assertEqual(bench.fmt_kb(61_440), "60.0 MB")
        self.assertEqual(bench.fmt_cpu(None), "-")
        self.assertEqual(bench.fmt_cpu(0), "<10 ms")
        self.assertEqual(bench.fmt_cpu(20_000), "20.0 ms")

    def test_ratio(self):
        self.assertEqual(bench.fmt_ratio(bench.ratio(250, 100)), "2.5x")
        self.assertIsNone(bench.ratio(1, 0))
        self.assertEqual(bench.fmt_ratio(None), "?")

    def test_verdict(self):
        self.assertEqual((bench.verdict(True), bench.verdict(False)), ("PASS", "MISS"))


class Parsing(unittest.TestCase):
    def test_readme_peer_ratios(self):
        table = (
            "| 600 k8s manifests + Dockerfiles | 41.9 ms | checkov 11.20 s (267x) |\n"
            "| 300 Dockerfiles | 17.9 ms | hadolint 1.10 s (61.5x) |\n"
            "| whole tree | 1.07 s | `rg -c image` 247 ms (4.3x) |\n"
        )
        self.assertEqual(
            bench.readme_peer_ratios(table),
            {"checkov": Baseline(267.0, 600), "hadolint": Baseline(61.5, 300)},
        )
        self.assertEqual(bench.readme_peer_ratios("| x | dclint 1 s (9x) |"), {"dclint": Baseline(9.0, None)})

    def test_the_readme_states_every_peer_ratio(self):
        # The no-regression targets are judged against these: a reworded table must not
        # silently turn them into n/a.
        readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
        baselines = bench.readme_peer_ratios(readme)
        self.assertEqual(set(baselines), {p.name for p in bench.PEERS})
        self.assertTrue(all(b.files for b in baselines.values()))

    def test_registry_requests(self):
        self.assertEqual(
            bench.registry_requests("note: 3 registry requests\nnote: 300 registry requests\n"), 300
        )
        self.assertIsNone(bench.registry_requests("error: connection refused\n"))

    def test_json_summary(self):
        self.assertEqual(bench.json_summary('{"summary": {"files": 3}, "findings": []}'), {"files": 3})
        self.assertIsNone(bench.json_summary("not json"))
        self.assertIsNone(bench.json_summary('{"findings": []}'))
        self.assertIsNone(bench.json_summary("[1]"))

    def test_wrong_resolutions(self):
        out = (
            "127.0.0.1:5000/bench/app001:latest -> 127.0.0.1:5000/bench/app001:1.0.1\n"
            "127.0.0.1:5000/bench/app002:latest -> 127.0.0.1:5000/bench/app002:0.9.2\n"
            "127.0.0.1:5000/bench/app003:latest -> 127.0.0.1:5000/bench/app003:1.0.4\n"
        )
        self.assertEqual(bench.wrong_resolutions(out), 2)


class Trees(unittest.TestCase):
    def test_tree_stamp(self):
        files = [("a.yaml", 10), ("b/c.yaml", 20)]
        stamp = bench.tree_stamp(b"maker", files)
        self.assertRegex(stamp, r"^[0-9a-f]{16}$")
        self.assertEqual(stamp, bench.tree_stamp(b"maker", list(files)))
        self.assertNotEqual(stamp, bench.tree_stamp(b"maker 2", files))
        self.assertNotEqual(stamp, bench.tree_stamp(b"maker", [("a.yaml", 11), ("b/c.yaml", 20)]))
        self.assertNotEqual(stamp, bench.tree_stamp(b"maker", [("a.yaml", 10), ("b/d.yaml", 20)]))

    def test_listing(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "b").mkdir()
            (root / "b" / "c.yaml").write_text("image: x\n")
            (root / "a.yaml").write_text("")
            self.assertEqual(bench.listing(root), [("a.yaml", 0), ("b/c.yaml", 9)])

    def test_sample_plan_keeps_the_proportions(self):
        by_kind = {
            kind: [f"{kind}/{i:03d}" for i in reversed(range(n))]
            for kind, n in (("k8s", 300), ("docker", 300), ("charts", 200), ("compose", 200))
        }
        picked = bench.sample_plan(by_kind, 1000, 100)
        counts = {kind: sum(p.startswith(kind + "/") for p in picked) for kind in by_kind}
        self.assertEqual(counts, {"k8s": 30, "docker": 30, "charts": 20, "compose": 20})
        self.assertEqual(picked[:2], ["k8s/000", "k8s/001"])  # the first files, sorted

    def test_sample_plan_rounds_up(self):
        self.assertEqual(bench.sample_plan({"k8s": ["a", "b", "c"]}, 3, 1), ["a"])
        self.assertEqual(bench.sample_plan({"k8s": ["a", "b", "c"], "docker": ["d"]}, 4, 2), ["a", "b", "d"])

    def test_precommit_plan(self):
        by_kind = {
            "k8s": ["k/2", "k/1", "k/3"],
            "docker": ["d/1"],
            "charts": ["c/1"],
            "compose": ["o/2", "o/1"],
        }
        self.assertEqual(bench.precommit_plan(by_kind), ["o/1", "k/1", "c/1", "d/1", "k/2"])

    def test_online_files_have_seven_floating_references(self):
        files = bench.online_files("127.0.0.1:5000")
        self.assertEqual(len(files), 5)
        self.assertEqual(sum(text.count("127.0.0.1:5000/bench/app") for text in files.values()), 7)

    def test_kustomized_apps_pin_an_image_of_their_base_in_an_overlay(self):
        docs = [("a.yaml", "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: ghcr.io/acme/api:1.2\n")]
        with tempfile.TemporaryDirectory() as out:
            stats = gentree.kustomized(Path(out), 7, gentree.random.Random(1), docs)
            files = sorted(p.relative_to(out).as_posix() for p in Path(out).rglob("*") if p.is_file())
            self.assertEqual(stats["kustomize"][0], 6)
            self.assertEqual(
                files[:3],
                [
                    "apps/g000/app-00000/base/app.yaml",
                    "apps/g000/app-00000/base/kustomization.yaml",
                    "apps/g000/app-00000/overlays/prod/kustomization.yaml",
                ],
            )
            app = Path(out) / "apps/g000/app-00001"
            self.assertEqual((app / "base/kustomization.yaml").read_text(), "resources:\n- app.yaml\n")
            self.assertEqual(
                (app / "overlays/prod/kustomization.yaml").read_text(),
                'resources:\n- ../../base\nimages:\n- name: ghcr.io/acme/api\n  newTag: "1.0.1"\n',
            )

    def test_default_corpus_is_the_vendored_copy(self):
        root = Path("/repo")
        self.assertEqual(gentree.default_corpus(root), root / "testdata" / "corpus")

    def test_ensure_tree_remakes_only_on_a_new_stamp(self):
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stderr(io.StringIO()):
            b = bench.Bench(Options(), Path(tmp))
            made = []

            def make(out):
                out.mkdir(parents=True)
                (out / "f").write_text(str(len(made)))
                made.append(out)

            tree = Path(tmp) / "tree"
            self.assertTrue(b.ensure_tree(tree, "s1", make))
            self.assertFalse(b.ensure_tree(tree, "s1", make))
            self.assertTrue(b.ensure_tree(tree, "s2", make))
            self.assertEqual((len(made), (tree / "f").read_text()), (2, "1"))

    def test_peer_commands(self):
        checkov, hadolint, dclint = bench.PEERS
        cmd = checkov.command("checkov", [Path("s/k8s"), Path("s/docker")])
        self.assertEqual(cmd[:5], ["checkov", "-d", "s/k8s", "-d", "s/docker"])
        self.assertIn("--skip-download", cmd)
        self.assertEqual(hadolint.command("h", [Path("s/docker")])[-2:], ["s/docker", "h"])
        self.assertEqual(
            dclint.command("d", [Path("s/compose")]), ["d", "-r", "s/compose", "--color", "false"]
        )


class Targets(unittest.TestCase):
    def targets(self, stats, **facts):
        rows = bench.target_rows(stats, Facts(**{"files": 20_000, "corpus_files": 8980, **facts}))
        return {target: (measured, result) for target, measured, result in rows}

    def result(self, rows, prefix):
        (found,) = [v for k, v in rows.items() if k.startswith(prefix)]
        return found

    def test_whole_tree_ratio(self):
        rows = self.targets(
            {"tagpin-corpus": st(250), "rg-corpus": st(100), "tagpin-tree": st(260), "rg-tree": st(100)}
        )
        self.assertEqual(
            self.result(rows, "whole tree ≤ 2.5x `rg -c image`: corpus x20"),
            ("2.5x (0.2 ms vs 0.1 ms), 8980 files", "PASS"),
        )
        self.assertEqual(
            self.result(rows, "whole tree ≤ 2.5x `rg -c image`: 20,000-file synthetic tree")[1], "MISS"
        )

    def test_synthetic_tree_targets_are_judged_at_their_size_only(self):
        rows = self.targets({"tagpin-tree": st(100, rss_kb=10_000), "rg-tree": st(100)}, files=1000)
        self.assertEqual(
            self.result(rows, "whole tree ≤ 2.5x `rg -c image`: 20,000-file")[1], "n/a (run --files 20000)"
        )
        self.assertEqual(
            self.result(rows, "peak memory"), ("9.8 MB at 1000 files", "n/a (run --files 20000)")
        )

    def test_memory(self):
        rows = self.targets({"tagpin-tree": st(1, rss_kb=60 * 1024)})
        self.assertEqual(self.result(rows, "peak memory ≤ 60 MB"), ("60.0 MB at 20000 files", "PASS"))
        rows = self.targets({"tagpin-tree": st(1, rss_kb=60 * 1024 + 1)})
        self.assertEqual(self.result(rows, "peak memory")[1], "MISS")

    def test_precommit(self):
        rows = self.targets({"precommit-offline": st(10_000), "precommit-online": st(10_001)})
        self.assertEqual(self.result(rows, "5-file pre-commit path ≤ 10 ms (offline)"), ("10.0 ms", "PASS"))
        self.assertEqual(self.result(rows, "5-file pre-commit path ≤ 10 ms (warm")[1], "MISS")

    def test_peers_against_the_readme(self):
        stats = {
            "checkov": st(2_700_000),
            "tagpin-checkov": st(10_000),
            "hadolint": st(600_000),
            "tagpin-hadolint": st(10_000),
            "dclint": st(1_000_000),
            "tagpin-dclint": st(10_000),
        }
        rows = self.targets(
            stats,
            peer_baselines={"checkov": Baseline(267.0, 600), "hadolint": Baseline(61.0, None)},
            peer_files={"checkov": 600, "hadolint": 300, "dclint": 200},
        )
        self.assertEqual(
            self.result(rows, "no regression: checkov"), ("270.0x, README 267x (600 files)", "PASS")
        )
        self.assertEqual(self.result(rows, "no regression: hadolint")[1], "MISS")
        self.assertEqual(self.result(rows, "no regression: dclint")[1], "n/a (no figure in README.md)")

    def test_peers_on_another_sample_are_not_judged(self):
        rows = self.targets(
            {"checkov": st(1_000_000), "tagpin-checkov": st(10_000)},
            peer_baselines={"checkov": Baseline(267.0, 600)},
            peer_files={"checkov": 120},
        )
        self.assertEqual(
            self.result(rows, "no regression: checkov"),
            ("100.0x (120 files)", "n/a (README's is on 600 files)"),
        )

    def test_missing_measurements_are_not_applicable(self):
        rows = self.targets({"tagpin-corpus": None, "rg-corpus": st(1)})
        self.assertTrue(rows)
        self.assertEqual(set(rows.values()), {("n/a", "n/a")})

    def test_resolution(self):
        rows = self.targets(
            {"resolve-cold": st(1_999_999), "resolve-warm": st(9_000)}, req_cold=300, req_warm=1
        )
        self.assertEqual(self.result(rows, "100 references"), ("2.00 s, 300 requests", "PASS"))
        self.assertEqual(self.result(rows, "0 registry requests"), ("1 requests (9.0 ms)", "MISS"))


class Report(unittest.TestCase):
    def test_render_report(self):
        series = {
            "tagpin-tree": Series([1_000_000, 1_200_000, 1_100_000], [(50 * 1024, 1_500_000)]),
            "rg-tree": Series([400_000, 500_000, 450_000], [(8 * 1024, 5_000)]),
            "tagpin-corpus": Series([10], [(1, 1)], failure="exit 2"),
        }
        rows = [
            Row("tagpin check", "5000", "tagpin-tree", "3 findings"),
            Row("rg -c image", "5000", "rg-tree"),
            Row("tagpin, corpus", "8980", "tagpin-corpus"),
            Row("checkov, hadolint, dclint", "-", message="skipped (--skip-peers)"),
        ]
        report = bench.render_report("tagpin benchmark: 5000 files", "intro.", rows, series, Facts(5000))
        lines = report.splitlines()
        self.assertEqual(lines[:3], ["### tagpin benchmark: 5000 files", "", "intro."])
        self.assertIn(
            "| tagpin check | 5000 | 1.10 s | 1.00 s–1.20 s | 3 | 1.50 s | 50.0 MB | 3 findings |", lines
        )
        self.assertIn("| rg -c image | 5000 | 450 ms | 400 ms–500 ms | 3 | <10 ms | 8.0 MB |  |", lines)
        self.assertIn("| tagpin, corpus | 8980 | failed (exit 2) | | | | |  |", lines)
        self.assertIn("| checkov, hadolint, dclint | - | skipped (--skip-peers) | | | | |  |", lines)
        self.assertIn("| tagpin / rg, synthetic tree | 2.4x |", lines)
        self.assertIn("| target | measured | result |", lines)
        self.assertTrue(report.endswith("|\n"))


if __name__ == "__main__":
    unittest.main()
