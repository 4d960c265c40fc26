"""Cache keys: code fingerprints, value digests, file fingerprints, and why a key changed.

`code` (what a node's code reaches, each part hashed by value), `values`
(content digests of Python values), `files` (fingerprints of the files a
node is given) and `explain` (a key's parts compared with the last run's).
"""
