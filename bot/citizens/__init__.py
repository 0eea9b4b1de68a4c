"""Citizens' rights and limits: their data, erasure, retention, blocking."""
