"""Flows out of Plait: drawings (SVG, PNG, DOT) and standalone Python scripts.

`drawing`, `scripts`, and what a script carries with it (`script_support`,
`embedding`: the node functions copied in).
"""
