"""Results: values written once by the worker that made them, and the cache index.

`blobs` (blobs with checksums, references), `serializers` (how values become
bytes, and their summaries), `checksums` (BLAKE3, the digest keys chain on),
`held` (a worker's background writes and the values it keeps for their
consumers), `cache` (which keys have stored outputs, and eviction) and
`persist` (copies saved to a path template, and checkpoints).
"""
