"""The flow model: a graph of nodes, wires and parameters, its edit events and its validation.

`Flow` (model) holds the nodes and edges and checks each edit; `parts` has the
nodes, edges, parameter and output kinds and the events an edit sends;
`validation` lists what keeps a flow from running, attached to its nodes;
`graph` holds every walk over the wiring (cycles, reachability, order, cones),
with networkx.
"""
