"""The simulated page: a Window with a video element and, in the worker context, a dedicated worker that
owns the MediaSource and posts its handle to the Window (the mission's pattern). In the window context
the MediaSource lives on the Window and attaches through an object URL."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from msecli.mse.enums import ReadyState
from msecli.mse.handle import MediaSourceHandle
from msecli.mse.media_source import MediaSource
from msecli.mse.profiles import Profile
from msecli.sim.attachment import Attachment, WindowAttachment, WorkerAttachment
from msecli.sim.contexts import Context, World
from msecli.sim.element import Element, Source
from msecli.sim.loop import EventLoop

DEFAULT_LATENCY = Fraction(1, 1000)  # seconds for a message or mirrored step to cross between contexts


class Page:
    def __init__(self, context: str, profile: Profile, *, latency: Fraction = DEFAULT_LATENCY,
                 realtime: bool = False) -> None:  # fmt: skip
        self.profile = profile
        self.world = World(latency=latency, realtime=realtime)
        self.window = self.world.context("window", "main")
        self.worker: Context | None = self.world.context("dedicatedworker", "worker") if context == "worker" else None
        self.element = self.new_element("element")
        self.object_urls: dict[str, MediaSource] = {}
        self.main_received: list[Any] = []  # messages the Window received, in order
        self.window.on_message = self._main_on_message
        self.attachment: Attachment
        if self.worker is not None:
            self.attachment = WorkerAttachment(self.worker, self.window, latency)
        else:
            self.attachment = WindowAttachment(self.window)
        self.media_source = MediaSource(self.attachment, profile, in_worker=self.worker is not None)
        self.attachment.media_source = self.media_source

    @property
    def ms_context(self) -> Context:
        return self.worker if self.worker is not None else self.window

    @property
    def loop(self) -> EventLoop:
        return self.ms_context.loop

    def new_element(self, name: str) -> Element:
        element = Element(self.window.loop, name, self.world.log, self.profile)
        element.resolve = self.resolve
        return element

    # The page's code

    def attach(self) -> None:
        """Worker: post {handle} with it in the transfer list; the Window sets it as srcObject on receipt.
        Window: src = URL.createObjectURL(ms). Throws what postMessage throws."""
        if self.worker is not None:
            handle = self.media_source.handle
            self.worker.post_message(self.window, {"type": "attach", "handle": handle}, [handle])
        else:
            self.set_src(self.element, self.create_object_url(self.media_source))

    def _main_on_message(self, message: Any) -> None:
        self.main_received.append(message)
        if isinstance(message, dict) and message.get("type") == "attach":
            self.set_src_object(self.element, message.get("handle"))

    def received_handle(self) -> Any:
        """The handle the Window last received (None if none came)."""
        return next((m.get("handle") for m in reversed(self.main_received) if isinstance(m, dict)), None)

    def create_object_url(self, media_source: MediaSource) -> str:
        url = f"blob:msecli/{len(self.object_urls) + 1}"
        self.object_urls[url] = media_source
        return url

    @staticmethod
    def set_src_object(element: Element, provider: Any) -> None:
        """The srcObject setter (§3.3): mark a handle as used, synchronously, then load."""
        if isinstance(provider, MediaSourceHandle):
            provider.has_ever_been_assigned_as_srcobject = True
        element.set_source(provider)

    @staticmethod
    def set_src(element: Element, url: str | None) -> None:
        element.set_source(url)

    def terminate_worker(self) -> None:
        assert self.worker is not None and isinstance(self.attachment, WorkerAttachment)
        self.worker.terminate()
        self.attachment.worker_terminated()
        if self.profile.worker_termination_ends_playback and self.attachment.element is not None:
            self.attachment.element.source_context_destroyed()

    # The attach checks of the resource fetch (§2.8.1), in the spec's order

    def resolve(self, provider: Any) -> tuple[Source | None, str | None]:
        if isinstance(provider, MediaSourceHandle):
            media_source = provider.media_source
            if provider.detached:
                return None, "the MediaSourceHandle is detached"
            if media_source.has_ever_been_attached:
                return None, "the MediaSource behind this handle has already been attached"
        elif isinstance(provider, str) and provider in self.object_urls:
            media_source = self.object_urls[provider]
            if self.profile.object_url_resolves_once and media_source.has_ever_been_attached:
                return None, "media data cannot be fetched"  # no longer a MediaSource URL: an ordinary fetch
            if media_source.in_worker:
                return None, "the object URL is of a worker MediaSource"
        else:
            return None, "media data cannot be fetched"
        if media_source.ready_state != ReadyState.CLOSED:
            return None, "the MediaSource is not closed"
        media_source.has_ever_been_attached = True
        return media_source.host, None  # type: ignore[return-value]

    def run_until_settled(self) -> None:
        self.world.clock.run_until_settled()


def attached_page(profile: Profile, context: str = "window") -> Page:
    """A page whose MediaSource is attached to its element, run until `sourceopen` has fired."""
    page = Page(context, profile)
    page.attach()
    page.run_until_settled()
    return page
