#!/usr/bin/env python3
"""Seed a local OCI registry for scripts/bench over the distribution HTTP API.

Usage: seed_registry.py HOST:PORT COUNT

Pushes COUNT repositories bench/appNNN. Each gets two small images (config + layer blobs, an
image manifest, and an OCI index around it): an older release `0.9.N`, and the current release
`1.0.N`, whose exact index bytes are pushed again under the floating tag `latest`. So
`tagpin resolve HOST:PORT/bench/appNNN:latest` should answer `1.0.N`.

Standard library only (urllib); plain HTTP, so only for a loopback registry.
"""

import hashlib
import json
import sys
import urllib.request

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Registry:
    def __init__(self, host: str):
        self.base = f"http://{host}"

    def request(self, method, url, body=b"", content_type=None, expect=201):
        if url.startswith("/"):
            url = self.base + url
        req = urllib.request.Request(url, data=body or None, method=method)
        if content_type:
            req.add_header("Content-Type", content_type)
        with urllib.request.urlopen(req, timeout=10) as resp:
            if resp.status != expect:
                raise RuntimeError(f"{method} {url}: {resp.status}, expected {expect}")
            return resp

    def blob(self, repo: str, data: bytes) -> dict:
        """Monolithic upload: POST a session, PUT the bytes with ?digest=."""
        digest = sha256(data)
        start = self.request("POST", f"/v2/{repo}/blobs/uploads/", expect=202)
        location = start.headers["Location"]
        sep = "&" if "?" in location else "?"
        url = f"{location}{sep}digest={digest.replace(':', '%3A')}"
        if url.startswith("/"):
            url = self.base + url
        self.request("PUT", url, data, "application/octet-stream")
        return {"digest": digest, "size": len(data)}

    def manifest(self, repo: str, reference: str, media_type: str, data: bytes):
        self.request("PUT", f"/v2/{repo}/manifests/{reference}", data, media_type)

    def image(self, repo: str, seed: str, tags):
        """An amd64 image wrapped in an index, the index pushed under every tag."""
        layer = f"tagpin bench layer {seed}".encode()
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Labels": {"tagpin.bench.seed": seed}},
                "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]},
            }
        ).encode()
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST,
                "config": {"mediaType": CONFIG, **self.blob(repo, config)},
                "layers": [{"mediaType": LAYER, **self.blob(repo, layer)}],
            },
            indent=2,
        ).encode()
        self.manifest(repo, sha256(manifest), MANIFEST, manifest)
        index = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": INDEX,
                "manifests": [
                    {
                        "mediaType": MANIFEST,
                        "digest": sha256(manifest),
                        "size": len(manifest),
                        "platform": {"architecture": "amd64", "os": "linux"},
                    }
                ],
            },
            indent=2,
        ).encode()
        for tag in tags:
            self.manifest(repo, tag, INDEX, index)  # same bytes: same digest under each tag
        return sha256(index)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    registry, count = Registry(sys.argv[1]), int(sys.argv[2])
    for n in range(1, count + 1):
        repo = f"bench/app{n:03d}"
        registry.image(repo, f"{repo}:0.9.{n}", [f"0.9.{n}"])
        registry.image(repo, f"{repo}:1.0.{n}", [f"1.0.{n}", "latest"])


if __name__ == "__main__":
    main()
