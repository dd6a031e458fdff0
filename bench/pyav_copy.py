"""The reference when the ffmpeg command is missing: a bare PyAV demux -> fragmented-MP4 mux copy loop."""

import sys

import av

with (
    av.open(sys.argv[1]) as source,
    av.open(
        sys.argv[2], "w", format="mp4", options={"movflags": "frag_keyframe+empty_moov+default_base_moof"}
    ) as output,
):
    streams = {s.index: output.add_stream_from_template(s) for s in source.streams if s.type in ("audio", "video")}
    for packet in source.demux(*[source.streams[i] for i in streams]):
        if packet.dts is None:
            continue
        packet.stream = streams[packet.stream.index]
        output.mux(packet)
