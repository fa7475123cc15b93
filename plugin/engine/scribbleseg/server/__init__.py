"""The engine host: one HTTP stack, two ways to run it (`scribbleseg serve`).

- Desktop (`serve --local`, local.py): loopback only, a token from the runtime file, the editors'
  raw-pixel fast path (scribbleseg_editor/wire.py), exits when idle.
- Cloud (`serve --host ... --keys FILE`, cloud.py): the retired InteractiveScribbleSegmentation
  API (../shared/specs/cloud-api.md), signed requests (auth.py), inputs by URL (fetch.py) or as
  multipart files (forms.py), answers stored for ResultUrl (results.py).

Shared parts: httpserver.py (aiohttp, its limits, the API's error body for every refusal),
workers.py (worker processes with a time limit per job) running the jobs of segmenting.py with
the prepared-image cache of cache.py, fifo.py (bounded work in arrival order, Throttling beyond).
"""
