"""Training of ScribbleSeg's scribble model (issue 15): `python -m scribbleseg_training`.

Training-time only (PyTorch, the `train` extra); the engine runs the exported ONNX files on
ONNX Runtime alone. Modules: encoder (the frozen EfficientNet-Lite0 trunk), samples (DUTS-TR
cases and synthetic pastes), cache (encoder features computed once), strokes (simulated users),
decoder (the network trained), train (the loop), export (ONNX files and the model card).
"""
