"""Screenshots of Krita's first run from the dist zip (not a test; run by hand, under Xvfb):

    .venv/bin/python tests/krita/screens_first_run.py [OUT]   (default /tmp/scribbleseg-screens)

A throwaway HOME with the zip imported and no engine; Krita out of batch mode; the driver
(drive_first_run_screens.py) answers each dialog as a user would and saves a picture of it in
OUT, with results.json (the messages, the install's and the run's seconds). The model's package
comes from models/.cache through a local stand-in of the npm registry; pip uses its own cache.
"""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import krita_session
import numpy as np
import zip_profile
from PIL import Image

sys.path.insert(0, str(krita_session.ROOT / "tests"))
from conftest import build  # noqa: E402
from npm_standin import serving  # noqa: E402

ROOT = krita_session.ROOT
MODEL = json.loads((ROOT / "manifest.json").read_text())["models"][0]
CACHED_PACKAGE = ROOT / "models" / ".cache" / "imgly-background-removal-data-1.4.5.tgz"
DRIVER = Path(__file__).resolve().parent / "drive_first_run_screens.py"


def bgra(path: Path) -> bytes:
    return np.asarray(Image.open(path).convert("RGBA"))[..., [2, 1, 0, 3]].tobytes()


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/scribbleseg-screens")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    examples = ROOT / "examples"
    for role in ("positive", "negative"):
        (out / f"{role}.bgra").write_bytes(bgra(examples / f"astronaut_{role}.png"))
    (out / "case.json").write_text(json.dumps({
        "image": str(examples / "astronaut.png"),
        **{role: str(out / f"{role}.bgra") for role in ("positive", "negative")}}))
    cache = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"], capture_output=True,
                           text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="scribbleseg-screens-") as folder:
        work = Path(folder)
        built = build("dist", "--out", str(work / "dist"))
        if built.returncode != 0:
            print(built.stdout + built.stderr)
            return 1
        zip_profile.import_zip(work / "home", work / "dist")
        display = krita_session.Display()
        try:
            with serving({MODEL["package"]: CACHED_PACKAGE}) as registry:
                code, log = krita_session.run_driver(display, work / "home", DRIVER, {
                    "SCRIBBLESEG_SCREENS_OUT": str(out), "npm_config_registry": registry.url,
                    "PIP_CACHE_DIR": cache}, timeout=1200)
            krita_session.stop_host(work / "home")
        finally:
            display.close()
        (out / "krita.log").write_text(log)
    print((out / "results.json").read_text() if code == 0 else log[-4000:])
    return code


if __name__ == "__main__":
    sys.exit(main())
