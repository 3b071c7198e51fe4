"""The Kafka stream application: per-star state, classification with onnxruntime, publishing.

The science step (:mod:`.step`: ingest, reclassification) is pure and runs the same
:mod:`varstream.lightcurve` pipeline as the offline code; the runtime (:mod:`.app`) owns
consuming, producing, committing and checkpointing. Nothing here imports :mod:`varstream.offline`
or the CLI.
"""
