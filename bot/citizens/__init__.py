"""Citizens' rights: their data, erasure, limits."""
