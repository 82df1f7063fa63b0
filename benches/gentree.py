#!/usr/bin/env python3
"""Generate the synthetic monorepo that scripts/bench measures.

Usage: gentree.py OUT FILES [--seed N] [--corpus DIR] [--kustomize]

Copies and varies the files of the corpus (DIR, by default testdata/corpus) into OUT, FILES files in all, deterministic
for a given seed:

  k8s/gNNN/app-NNNNN.yaml            30%  Kubernetes multi-document manifests (1-5 documents
                                          drawn from the corpus' manifests, joined with ---)
  docker/gNNN/svc-NNNNN/Dockerfile   30%  Dockerfiles (the corpus has none: written from a few
                                          templates, with image references taken from the corpus)
  charts/gNNN/chart-NNNNN/values.yaml 20% Helm values
  compose/gNNN/stack-NNNNN/compose.yaml 20% compose files (compose.yaml / docker-compose.yml)

Each copy is varied so that no two files are byte-identical: a header comment naming the copy,
and image tags rewritten at random (kept, `latest`, dropped, or another version), so the tree
has a realistic share of floating tags. Helm templates (`{{ }}`) and CRDs are left out: they
are not what the benchmark is about, and tagpin skips templates anyway.

With `--kustomize`, the tree is apps laid out for kustomize instead, three files each
(`kustomized`): what a kustomize monorepo holds.

Prints one line of statistics (files and bytes per kind) on stdout.
"""

import argparse
import random
import re
import sys
from pathlib import Path

SHARES = [("k8s", 0.30), ("docker", 0.30), ("values", 0.20), ("compose", 0.20)]
GROUP = 100  # files per folder

COMPOSE_NAME = re.compile(r"^(docker-)?compose([.-].*)?\.ya?ml$|\.compose\.ya?ml$", re.I)
VALUES_NAME = re.compile(r"^(values.*|.*-values)\.ya?ml$", re.I)
DOC_SPLIT = re.compile(r"^---[ \t]*(?:#.*)?$", re.M)
# `image: repo:tag` on its own line (list item or key), optionally quoted, optionally commented.
IMAGE_LINE = re.compile(
    r"^(?P<lead>\s*(?:-\s+)?[A-Za-z]*[Ii]mage:\s+)(?P<q>[\"']?)"
    r"(?P<ref>[a-z0-9][a-z0-9._/:@-]*)(?P=q)(?P<rest>\s*(?:#.*)?)$",
    re.M,
)
# Helm's `tag: x` next to `repository:`.
TAG_LINE = re.compile(
    r"^(?P<lead>\s*tag:\s+)(?P<q>[\"']?)(?P<tag>[A-Za-z0-9._-]+)(?P=q)(?P<rest>\s*(?:#.*)?)$",
    re.M,
)
REF = re.compile(r"""image:\s*["']?([a-z0-9][a-z0-9._/-]*(?::[A-Za-z0-9._-]+)?)["']?\s*$""", re.M)

DOCKERFILES = [
    "FROM {a}\nRUN apk add --no-cache ca-certificates\nCOPY . /app\nCMD [\"/app/run\"]\n",
    "ARG BASE={a}\nFROM ${{BASE}} AS build\nWORKDIR /src\nCOPY . .\nRUN make build\n\n"
    "FROM {b}\nCOPY --from=build /src/out /usr/local/bin/app\nENTRYPOINT [\"app\"]\n",
    "# syntax=docker/dockerfile:1\nFROM --platform=$BUILDPLATFORM {a} AS deps\n"
    "RUN echo deps > /deps\nFROM {b} AS runtime\nCOPY --from=deps /deps /deps\n"
    "COPY --from={c} /etc/ssl/certs /etc/ssl/certs\nUSER 1000\n",
    "FROM {a} \\\n    AS base\nENV APP_HOME=/opt/app\nRUN mkdir -p $APP_HOME\n"
    "FROM base\nHEALTHCHECK CMD true\nEXPOSE 8080\n",
]


def default_corpus(root: Path) -> Path:
    """The corpus the benchmark trees are made from: the repository's vendored copy."""
    return root / "testdata" / "corpus"


def vary_tag(ref: str, rng: random.Random) -> str:
    """A floating, missing or different tag for `ref` (digests are left alone)."""
    if "@" in ref:
        return ref
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    name = ref[:colon] if colon > slash else ref
    roll = rng.random()
    if roll < 0.25:
        return f"{name}:latest"
    if roll < 0.35:
        return name
    if roll < 0.50:
        return f"{name}:{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 20)}"
    return ref


def vary(text: str, rng: random.Random, label: str) -> str:
    def image(m):
        return f"{m['lead']}{m['q']}{vary_tag(m['ref'], rng)}{m['q']}{m['rest']}"

    def tag(m):
        roll = rng.random()
        new = m["tag"]
        if roll < 0.25:
            new = "latest"
        elif roll < 0.40:
            new = f"{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 20)}"
        return f"{m['lead']}{m['q']}{new}{m['q']}{m['rest']}"

    text = IMAGE_LINE.sub(image, text)
    text = TAG_LINE.sub(tag, text)
    return f"# {label}\n{text}"


KEY_LINE = re.compile(r"^(?P<indent>\s*)(?P<dash>-\s+)?(?P<key>[A-Za-z_][\w.-]*):(?:\s|$)")


def has_duplicate_keys(text: str) -> bool:
    """A block mapping that repeats a key: tagpin, compose and Kubernetes reject the file."""
    stack = []  # (indent, keys) of the open block mappings
    scalar = None  # indent of the key whose block scalar (`|`, `>`) is being skipped
    for line in text.splitlines():
        if line.strip() == "---":
            stack, scalar = [], None
            continue
        if scalar is not None:
            if not line.strip() or len(line) - len(line.lstrip()) > scalar:
                continue
            scalar = None
        m = KEY_LINE.match(line)
        if not m:
            continue
        indent = len(m["indent"]) + (len(m["dash"]) if m["dash"] else 0)
        if re.search(r":\s*[|>][-+0-9]*\s*(#.*)?$", line):
            scalar = indent
        while stack and (stack[-1][0] > indent or (m["dash"] and stack[-1][0] == indent)):
            stack.pop()
        if not stack or stack[-1][0] < indent:
            stack.append((indent, set()))
        if m["key"] in stack[-1][1]:
            return True
        stack[-1][1].add(m["key"])
    return False


def load_corpus(corpus: Path):
    """Sorts the corpus' YAML into compose files, Helm values and Kubernetes documents."""
    compose, values, docs, refs = [], [], [], set()
    for path in sorted(corpus.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in (".yaml", ".yml"):
            continue
        rel = path.relative_to(corpus)
        if "templates" in rel.parts or path.name == "Chart.yaml":
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if "{{" in text or path.name.lower().startswith("kustomization"):
            continue
        if has_duplicate_keys(text):
            continue
        refs.update(r for r in REF.findall(text) if "$" not in r)
        if COMPOSE_NAME.search(path.name) or re.search(r"^services:", text, re.M):
            compose.append((str(rel), text))
        elif VALUES_NAME.match(path.name):
            values.append((str(rel), text))
        else:
            for doc in DOC_SPLIT.split(text):
                if (
                    re.search(r"^apiVersion:", doc, re.M)
                    and re.search(r"^kind:", doc, re.M)
                    and not re.search(r"^kind:\s*CustomResourceDefinition", doc, re.M)
                    and doc.strip()
                ):
                    docs.append((str(rel), doc.strip("\n") + "\n"))
    return compose, values, docs, sorted(refs)


def kustomized(out: Path, total: int, rng: random.Random, docs: list[tuple[str, str]]) -> dict:
    """Apps laid out for kustomize, three files each:

      apps/gNNN/app-NNNNN/base/app.yaml                   1-5 Kubernetes documents of the corpus
      apps/gNNN/app-NNNNN/base/kustomization.yaml         lists app.yaml
      apps/gNNN/app-NNNNN/overlays/prod/kustomization.yaml  builds the base and pins the tag of
                                                          its first image

    Returns {"kustomize": (files, bytes)}.
    """
    files = size = 0
    for i in range(max(total // 3, 1)):
        picked = [rng.choice(docs) for _ in range(rng.randint(1, 5))]
        label = "bench copy of " + ", ".join(src for src, _ in picked)
        manifest = vary("---\n".join(doc for _, doc in picked), rng, label)
        app = out / "apps" / f"g{i // GROUP:03d}" / f"app-{i:05d}"
        texts = {app / "base" / "app.yaml": manifest, app / "base" / "kustomization.yaml": "resources:\n- app.yaml\n"}
        first = IMAGE_LINE.search(manifest)
        overlay = "resources:\n- ../../base\n"
        if first:
            name = re.sub(r"(@.*|:[^:/]*)$", "", first["ref"])
            overlay += f"images:\n- name: {name}\n  newTag: \"1.0.{i}\"\n"
        texts[app / "overlays" / "prod" / "kustomization.yaml"] = overlay
        for path, text in texts.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            data = text.encode()
            path.write_bytes(data)
            files, size = files + 1, size + len(data)
    return {"kustomize": (files, size)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("files", type=int)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--corpus", type=Path, default=default_corpus(Path(__file__).parents[1]))
    parser.add_argument("--kustomize", action="store_true", help="apps laid out for kustomize")
    args = parser.parse_args()
    corpus, out, total = args.corpus, args.out, args.files
    rng = random.Random(args.seed)
    compose, values, docs, refs = load_corpus(corpus)
    if not (compose and values and docs and refs):
        sys.exit(f"error: {corpus} has too little to copy from")
    if args.kustomize:
        print_stats(kustomized(out, total, rng, docs))
        return

    counts = {kind: int(total * share) for kind, share in SHARES}
    counts["k8s"] += total - sum(counts.values())  # rounding remainder
    stats = {}
    for kind, count in counts.items():
        size = 0
        for i in range(count):
            group = f"g{i // GROUP:03d}"
            if kind == "k8s":
                picked = [rng.choice(docs) for _ in range(rng.randint(1, 5))]
                label = "bench copy of " + ", ".join(src for src, _ in picked)
                text = vary("---\n".join(doc for _, doc in picked), rng, label)
                path = out / "k8s" / group / f"app-{i:05d}.yaml"
            elif kind == "docker":
                template = rng.choice(DOCKERFILES)
                a, b, c = (vary_tag(rng.choice(refs), rng) for _ in range(3))
                text = f"# bench Dockerfile {i}\n" + template.format(a=a, b=b, c=c)
                path = out / "docker" / group / f"svc-{i:05d}" / "Dockerfile"
            elif kind == "values":
                src, body = rng.choice(values)
                text = vary(body, rng, f"bench copy {i} of {src}")
                path = out / "charts" / group / f"chart-{i:05d}" / "values.yaml"
            else:
                src, body = rng.choice(compose)
                name = "compose.yaml" if i % 2 else "docker-compose.yml"
                text = vary(body, rng, f"bench copy {i} of {src}")
                path = out / "compose" / group / f"stack-{i:05d}" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            data = text.encode()
            path.write_bytes(data)
            size += len(data)
        stats[kind] = (count, size)
    print_stats(stats)


def print_stats(stats: dict) -> None:
    print(
        " ".join(f"{k}={n} files/{b / 1e6:.1f}MB" for k, (n, b) in stats.items()),
        f"total={sum(n for n, _ in stats.values())} files/"
        f"{sum(b for _, b in stats.values()) / 1e6:.1f}MB",
    )


if __name__ == "__main__":
    main()
