"""Editor-neutral core of the GIMP and Krita plug-ins: standard library only.

Everything a run decides that is not editor API lives here: `run.plan_run` finds the scribble
layers, chooses the target, refuses with a message, checks the size, picks the current mask and
reads the pixels through the small `run.EditorDocument` protocol each editor adapter implements;
`wire` encodes the request and `host` sends it to the desktop engine host. Editors ship their own
Python, often without numpy, so nothing here imports a third-party package. The engine imports
`errors`, `limits`, `options`, `wire` and `hostfile` from here, so both sides share one copy.
"""
