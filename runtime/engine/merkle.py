"""The Merkle step of a cache key: a node's base and its inputs' digests make its key.

The scheduler takes this step once a node's inputs are known. A node sent to a
Dask cluster ahead of its inputs takes it in the worker, where the inputs'
digests are known first: both sides use these functions, so they agree. It
imports little, as a worker's modules should.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

KEY_VERSION = 2  # bump when the key recipe changes, so old entries stop matching


def digest(payload: Any) -> str:
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def chained_key(base: str, inputs: list[tuple[str, str]], files: dict[str, str]) -> str:
    """The key of a node from its base, (port, digest) of each wired input and the files they name."""
    return digest([KEY_VERSION, base, inputs, sorted(files.items())])


def ref_digest(ref: Any, source_key: str, port: str) -> str:
    """The content digest of an upstream output, for its consumers' keys.

    A reference without a digest (none is written so today) counts by its
    producer's key: still a key over values, never a stale one.
    """
    found = getattr(ref, "digest", "") if ref is not None else ""
    return found or f"key:{source_key}:{port}"


@dataclass
class KeyRecipe:
    """How a worker works out the key of a node sent ahead of some of its inputs.

    `inputs` holds (port, digest, source node, source port) in key order; the
    digest is None for an input whose producer was still running when the node
    was sent. `files` are the fingerprints of the files named by the inputs
    known then.
    """

    base: str
    inputs: list[tuple[str, str | None, str, str]]
    files: dict[str, str] = field(default_factory=dict)
    track_files: bool = True
    folder: str | None = None

    def key(self, produced: dict[str, tuple[dict[str, Any], str]]) -> str:
        """The key, given each pending source's (outputs, key)."""
        inputs, files = [], dict(self.files)
        for port, known, source, source_port in self.inputs:
            if known is None:
                outputs, source_key = produced[source]
                ref = outputs.get(source_port)
                known = ref_digest(ref, source_key, source_port)
                if self.track_files and getattr(ref, "paths", None):
                    from plait.runtime.keys.files import fingerprints

                    files.update(fingerprints(list(ref.paths), self.folder))
            inputs.append((port, known))
        return chained_key(self.base, inputs, files)
