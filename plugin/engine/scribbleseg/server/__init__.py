"""The engine host: one HTTP server, two ways to run it (`scribbleseg serve`).

- Desktop (`serve --local`, local.py): loopback only, a token from the runtime file, the editors'
  raw-pixel fast path (wire format: scribbleseg_editor/host.py), exits when idle.
- Cloud (`serve --host ... --keys FILE`, cloud.py): the retired InteractiveScribbleSegmentation
  API (../shared/specs/cloud-api.md), signed requests (auth.py), inputs by URL (fetch.py) or as
  multipart files (forms.py), answers stored for ResultUrl (results.py).

Shared parts: app.py (HTTP plumbing and error bodies), segmenting.py (engine run with the
prepared-image cache of cache.py), pool.py (bounded engine work, Throttling beyond the queue).
"""
