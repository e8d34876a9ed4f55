"""
What the pytest plugin (``nr.pytest_plugin``) gives L2 integration tests:
one snapshot across every chain (``isolation``), assertions that say what
happened (``assertions``), cross-domain helpers (``cross_domain``), contract
deployment from source or artifacts (``artifacts``), chain helpers
(``chains``) and hypothesis strategies (``strategies``). Importing any of them
changes no other library.
"""
