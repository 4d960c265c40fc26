"""Mime types Plait puts on drags and the clipboard."""

NODE_TYPE_MIME = "application/x-plait-node-type"  # a node type key, utf-8
NODES_MIME = "application/x-plait-nodes"  # copied nodes, wires and frames, as JSON
