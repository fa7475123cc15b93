"""Editor-neutral core of the GIMP and Krita plug-ins: standard library only.

Editors ship their own Python, often without numpy, so nothing here imports a third-party
package. The engine host imports `hostfile` too, so both sides agree on where the runtime
file lives.
"""
