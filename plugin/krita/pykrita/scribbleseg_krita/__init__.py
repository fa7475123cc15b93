"""ScribbleSeg for Krita 5: select an object from Positive / Negative scribble layers.

Installed as <resources>/pykrita/scribbleseg_krita/ with the editor-neutral core
(scribbleseg_editor) and manifest.json inside it: the core is a subpackage, imported relatively,
so nothing lands on Krita's shared sys.path. The .desktop and .action files beside it (default
shortcuts) are in plugin/krita/.
"""

from krita import Krita

from .extension import ScribbleSegExtension

EXTENSION = ScribbleSegExtension(Krita.instance())
Krita.instance().addExtension(EXTENSION)
