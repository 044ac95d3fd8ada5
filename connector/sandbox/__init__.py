"""Local sandbox CRMs that speak the vendors' wire protocols (separate programs; never imported by adapters)."""
