"""The run dialog: output, engine (local or a cloud endpoint), refinement and feathering."""

from __future__ import annotations

from PyQt5.QtWidgets import QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLineEdit

from .scribbleseg_editor.settings import ENGINES, OUTPUTS, POSTPROCESSES, RunOptions

# Krita says "transparency mask" where GIMP says "layer mask".
OUTPUT_LABELS = dict(OUTPUTS, layer_mask="Transparency mask on the layer")


def ask_options(parent, title: str, initial: RunOptions) -> RunOptions | None:
    """Show the dialog filled with `initial`; the chosen options, or None when cancelled."""
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    form = QFormLayout(dialog)
    output = _combo(OUTPUT_LABELS, initial.output)
    engine = _combo(ENGINES, initial.engine)
    endpoint = QLineEdit(initial.endpoint)
    endpoint.setPlaceholderText("https://host/  (InteractiveScribbleSegmentation)")
    endpoint.setEnabled(initial.engine == "cloud")
    engine.currentIndexChanged.connect(
        lambda: endpoint.setEnabled(engine.currentData() == "cloud"))
    postprocess = _combo(POSTPROCESSES, initial.postprocess)
    feather = QCheckBox("Feather the edge")
    feather.setChecked(initial.feather)
    buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    form.addRow("Output", output)
    form.addRow("Engine", engine)
    form.addRow("Endpoint", endpoint)
    form.addRow("Refinement", postprocess)
    form.addRow("", feather)
    form.addRow(buttons)
    if dialog.exec_() != QDialog.Accepted:
        return None
    return RunOptions(output=output.currentData(), engine=engine.currentData(),
                      endpoint=endpoint.text().strip(), postprocess=postprocess.currentData(),
                      feather=feather.isChecked())


def _combo(choices: dict[str, str], current: str) -> QComboBox:
    combo = QComboBox()
    for value, label in choices.items():
        combo.addItem(label, value)
    combo.setCurrentIndex(max(0, combo.findData(current)))
    return combo
