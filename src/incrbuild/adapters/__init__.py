"""Adapters that present a host's site as incrbuild's protocols.

- :mod:`incrbuild.adapters.simple`: plain in-memory classes (for tests and new hosts);
- :mod:`incrbuild.adapters.files`: reads a Hugo/Bengal-layout content tree from disk;
- :mod:`incrbuild.adapters.bengal`: wraps a Bengal ``Site`` without copying it.

Nothing here is imported by ``import incrbuild``; import the adapter you use.
"""
