"""ScribbleSeg for Krita 5: select an object from Positive / Negative scribble layers.

Installed as <resources>/pykrita/scribbleseg_krita/ with the editor-neutral core
(scribbleseg_editor) and manifest.json copied inside; buildtasks/krita_layout.py writes the
.desktop and .action files (default shortcuts) from manifest.json.
"""

import os
import sys

# The bundled editor-neutral core is imported as a top-level package.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from krita import Krita  # noqa: E402

from .extension import ScribbleSegExtension  # noqa: E402

EXTENSION = ScribbleSegExtension(Krita.instance())
Krita.instance().addExtension(EXTENSION)
