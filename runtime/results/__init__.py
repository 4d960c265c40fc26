"""Results: values written once by the worker that made them, and the cache index.

`blobs` (serializers, blobs with checksums, references), `cache` (which keys
have stored outputs, and eviction) and `persist` (copies saved to a path
template, and checkpoints).
"""
