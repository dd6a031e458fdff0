"""PURE SPEC CORE: MediaSource, SourceBuffer and their algorithms, step by step as the MSE editor's
draft names them (w3c/media-source `media-source-respec.html` at c33759d, digested in
shared/spec/mse-notes.md). No I/O, no clock, no threads: the outside is reached through `Host`.

Deviations from the letter of the spec are marked `# DEVIATION:`; browser behaviour that differs is
a named switch in `profiles.py`, never a scattered conditional.
"""

SPEC_REVISION = "w3c/media-source c33759d (2025-04-17)"
