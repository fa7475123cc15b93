"""Steps of build.py, standard library only (they run before any environment exists)."""
