"""The live page: the face model cartoonises a webcam or a photo in the browser, with no server-side compute
(ONNX Runtime Web). ``python -m web`` builds what it needs and serves it; see web/__main__.py."""
