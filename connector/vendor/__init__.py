"""Vendors' published interfaces, kept verbatim with code generated from them (see each package's README)."""
