"""Framework-level security building blocks: admin gate, user auth, paths, limits, CORS.

Everything here is a plain object or function that the composition root creates and wires;
nothing keeps module-level state.
"""
