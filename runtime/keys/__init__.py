"""Cache keys' ingredients: code fingerprints, value digests and file fingerprints.

`fingerprint` (what a node's code reaches, read through the syntax tree and
hashed by value, each part labelled for explanations), `values` (content
digests of Python values: NaN is not None, arrays and tables by content) and
`files` (fingerprints of the files a node's values name). How they combine
into a node's key is the engine's plan.
"""
