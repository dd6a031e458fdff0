"""ISO Base Media File Format (MP4, fragmented MP4, CMAF)."""
