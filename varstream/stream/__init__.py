"""The Kafka stream application: per-star state, classification with onnxruntime, publishing.

Built on the same :mod:`varstream.lightcurve` pipeline as the offline code (see the stream issue).
"""
