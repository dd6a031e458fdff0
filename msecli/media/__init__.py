"""The only package that imports PyAV: reading input media, and FFmpeg's help with codec configuration."""
