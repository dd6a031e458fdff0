"""msecli: what a SourceBuffer will do with your segments, before you open a browser."""

__version__ = "0.1.0"
