"""Screenshots of GIMP's first run from the dist zip (not a test; run by hand, as root):

    .venv/bin/python tests/gimp/screens_first_run.py [OUT]   (default /tmp/scribbleseg-screens)

Full GIMP from its Debian 13 root on a private Xvfb display, a throwaway HOME with the zip
unzipped into plug-ins/ and no engine. drive_first_run_screens.py runs Segment from Scribbles
twice; this script watches its stage files, takes a picture of the screen at each dialog and
answers it with the keys a user would press: the run dialog (OK), the install offer (Yes), the
install's progress (left to finish), then the run dialog again with the engine installed.
Pictures are taken with PyQt5 on this machine's own Python (python3-pyqt5, which Krita needs).
"""

import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]
from conftest import ROOT, build  # noqa: E402
from npm_standin import serving  # noqa: E402
from test_gimp_first_run import HOST_CA_BUNDLE, stroke_plane, unzip_as_a_user_does  # noqa: E402

from gimp import harness, scenarios  # noqa: E402

MANIFEST = json.loads((ROOT / "manifest.json").read_text())
CACHED_PACKAGE = ROOT / "models" / ".cache" / "imgly-background-removal-data-1.4.5.tgz"
RUN_DIALOG = MANIFEST["actions"]["segment"]["label"]
OK_BUTTON = ("378", "377")  # where the run dialog's OK button lands on the 1280x1024 screen
GRAB = ("import sys\nfrom PyQt5.QtWidgets import QApplication\n"
        "app = QApplication(['grab'])\napp.primaryScreen().grabWindow(0).save(sys.argv[1])\n")


class Watcher:
    """Looks and clicks on the display while GIMP runs the driver."""

    def __init__(self, display: str, stages: Path, shots: Path) -> None:
        self.display, self.stages, self.shots = display, stages, shots
        self.environment = {"DISPLAY": display, "PATH": "/usr/bin:/bin"}

    def shot(self, name: str) -> None:
        subprocess.run(["/usr/bin/python3", "-c", GRAB, str(self.shots / f"{name}.png")],
                       env=self.environment, timeout=60, check=True)

    def xdotool(self, *arguments: str) -> None:
        subprocess.run(["xdotool", *arguments], env=self.environment, timeout=60, check=True)

    def keys_to(self, title: str, *keys: str) -> None:
        """Keys to the window titled `title` (no window manager gives it the focus)."""
        self.xdotool("search", "--sync", "--name", f"^{title}$", "windowfocus", "--sync",
                     "key", "--clearmodifiers", *keys)

    def wait_for(self, stage: str, timeout: float = 900) -> None:
        deadline = time.monotonic() + timeout
        while not (self.stages / f"{stage}.stage").exists():
            if time.monotonic() > deadline:
                raise TimeoutError(stage)
            time.sleep(0.5)

    def run(self) -> None:
        self.wait_for("not-installed")
        time.sleep(8)
        self.shot("gimp-1-run-dialog")
        self.xdotool("mousemove", *OK_BUTTON, "click", "1")
        time.sleep(6)
        self.shot("gimp-2-offer")
        self.keys_to("ScribbleSeg", "alt+y")
        time.sleep(25)
        self.shot("gimp-3-progress")
        self.wait_for("installed")
        time.sleep(8)
        self.shot("gimp-4-run-dialog-installed")
        self.keys_to(RUN_DIALOG, "Escape")


def main() -> int:
    shots = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/scribbleseg-screens")
    shots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="scribbleseg-gimp-screens-") as folder:
        work = Path(folder)
        built = build("dist", "--out", str(work / "dist"))
        if built.returncode != 0:
            print(built.stdout + built.stderr)
            return 1
        unzip_as_a_user_does(work / "dist" / f"scribbleseg-gimp-{MANIFEST['version']}.zip",
                             work / "profile" / "plug-ins")
        shutil.copyfile(HOST_CA_BUNDLE, work / "ca.pem")
        shutil.copyfile(ROOT / "examples" / "astronaut.png", work / "astronaut.png")
        out = work / "out"
        out.mkdir()
        planes = {role: scenarios.write_plane(
            work / f"{role}.raw", stroke_plane(ROOT / "examples" / f"astronaut_{role}.png"))
            for role in ("positive", "negative")}
        job = {"out": str(out), "image": str(work / "astronaut.png"), "planes": planes,
               "procedures": {name: action["gimp_procedure"]
                              for name, action in MANIFEST["actions"].items()},
               "layer_names": MANIFEST["layers"]}
        (work / "job.json").write_text(json.dumps(job))
        harness.DRIVER = Path(__file__).resolve().parent / "drive_first_run_screens.py"
        with harness.virtual_display() as display, \
                serving({MANIFEST["models"][0]["package"]: CACHED_PACKAGE}) as registry:
            watcher = Watcher(display, out, shots)
            thread = threading.Thread(target=watcher.run, daemon=True)
            thread.start()
            started = time.monotonic()
            completed = harness.run_gimp(work, {
                "SCRIBBLESEG_GIMP_JOB": str(work / "job.json"),
                "SCRIBBLESEG_RUNTIME_DIR": str(work / "run"),
                "npm_config_registry": registry.url, "SSL_CERT_FILE": str(work / "ca.pem"),
                "PIP_CACHE_DIR": str(work / "pip-cache")}, display=display, timeout=1500)
            seconds = time.monotonic() - started
            thread.join(60)
        (shots / "gimp.log").write_text(completed.stdout)
        runtime = work / "run" / "host.json"
        if runtime.exists():
            subprocess.run(["kill", str(json.loads(runtime.read_text())["pid"])])
        results = (out / "results.json").read_text() if (out / "results.json").exists() else ""
        print(f"GIMP session {seconds:.0f} s; results {results}")
    return 0 if "DRIVER-DONE" in completed.stdout else 1


if __name__ == "__main__":
    sys.exit(main())
