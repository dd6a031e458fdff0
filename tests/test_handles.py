"""MediaSourceHandle, postMessage and attach rules (mse-notes §2.7, §2.8.1, §3; HTML structured clone).
Each expected exception is the one the spec (or, where marked, Chromium) names."""

from __future__ import annotations

import pytest

from msecli.mse.enums import ReadyState
from msecli.mse.errors import DataCloneError, NotSupportedError
from msecli.mse.media_source import MediaSource
from msecli.mse.profiles import SPEC
from msecli.sim.element import MEDIA_ERR_SRC_NOT_SUPPORTED, NETWORK_LOADING, NETWORK_NO_SOURCE
from msecli.sim.page import Page, attached_page


def worker_page() -> Page:
    return Page("worker", SPEC)


def test_handle_is_the_same_object_on_every_read_and_one_per_media_source():
    page = worker_page()
    assert page.media_source.handle is page.media_source.handle
    other = Page("worker", SPEC).media_source
    assert other.handle is not page.media_source.handle
    assert MediaSource.can_construct_in_dedicated_worker is True


def test_handle_on_a_window_media_source_is_not_supported():
    # The member does not exist on Window; Chromium throws NotSupportedError if reached (mse-notes §12.1).
    with pytest.raises(NotSupportedError):
        Page("window", SPEC).media_source.handle  # noqa: B018


def test_a_transfer_detaches_the_sender_and_the_receiver_gets_a_new_linked_handle():
    page = worker_page()
    handle = page.media_source.handle
    page.worker.post_message(page.window, {"handle": handle}, [handle])
    page.run_until_settled()
    received = page.received_handle()
    assert handle.detached and not received.detached
    assert received is not handle and received.media_source is page.media_source


@pytest.mark.parametrize(
    "case",
    ["transferred twice", "listed twice", "not in the transfer list", "after srcObject", "to a shared worker",
     "to a service worker"],
)  # fmt: skip
def test_every_forbidden_handle_post_is_a_synchronous_data_clone_error(case):
    page = worker_page()
    handle = page.media_source.handle
    destination = page.window
    transfer = [handle]
    if case == "transferred twice":
        page.worker.post_message(page.window, {"handle": handle}, [handle])
    elif case == "listed twice":
        transfer = [handle, handle]
    elif case == "not in the transfer list":
        transfer = []
    elif case == "after srcObject":
        page.attach()
        page.run_until_settled()
        handle = page.received_handle()
        transfer = [handle]
        destination = page.world.context("dedicatedworker", "second")
    else:
        destination = page.world.context(case.split()[-2] + "worker", "other")
    sender = page.window if case == "after srcObject" else page.worker
    page.run_until_settled()
    before = len(page.main_received)
    with pytest.raises(DataCloneError):
        sender.post_message(destination, {"handle": handle}, transfer)
    page.run_until_settled()
    assert len(page.main_received) == before  # nothing was delivered
    assert handle.detached == (case == "transferred twice")  # a failed post detaches nothing


@pytest.mark.parametrize("what", ["MediaSource", "SourceBuffer"])
def test_media_source_and_source_buffer_are_not_serializable(what):
    page = attached_page(SPEC, "worker")
    value = page.media_source
    if what == "SourceBuffer":
        value = page.media_source.add_source_buffer('audio/mp4; codecs="mp4a.40.2"')
    with pytest.raises(DataCloneError):
        page.worker.post_message(page.window, {"object": value})


def test_plain_messages_are_deep_copies():
    page = worker_page()
    message = {"list": [1, {"a": 2}]}
    page.worker.post_message(page.window, message)
    message["list"][1]["a"] = 99
    page.run_until_settled()
    assert page.main_received == [{"list": [1, {"a": 2}]}]


def test_attach_opens_the_media_source_in_the_worker_after_two_hops():
    page = worker_page()
    page.attach()
    # The worker posts at t=0; the Window sets srcObject at 1 ms and posts the open task, run at 2 ms.
    page.world.clock.run_until(lambda: page.media_source.ready_state == ReadyState.OPEN)
    assert page.world.clock.now == pytest.approx(0.002)
    assert page.element.network_state == NETWORK_LOADING
    assert page.element.events == ["loadstart"]


def test_a_handle_attaches_at_most_once():
    page = attached_page(SPEC, "worker")
    second = page.new_element("second")
    Page.set_src_object(second, page.received_handle())  # the setter does not throw
    page.run_until_settled()
    assert second.error["code"] == MEDIA_ERR_SRC_NOT_SUPPORTED
    assert second.network_state == NETWORK_NO_SOURCE
    assert second.events == ["loadstart", "error"]
    assert page.media_source.ready_state == ReadyState.OPEN  # the first attachment is untouched


def test_a_detached_handle_fails_asynchronously_as_srcobject():
    page = worker_page()
    handle = page.media_source.handle
    page.worker.post_message(page.window, {"handle": handle}, [handle])  # the worker's copy is now detached
    page.run_until_settled()
    Page.set_src_object(page.element, handle)
    assert page.element.error is None  # decided in the resource fetch, not in the setter
    page.run_until_settled()
    assert page.element.error["code"] == MEDIA_ERR_SRC_NOT_SUPPORTED
    assert page.media_source.ready_state == ReadyState.CLOSED


def test_a_worker_media_source_object_url_cannot_be_used_as_src():
    page = worker_page()
    url = page.create_object_url(page.media_source)  # Chromium lets a worker create it (mse-notes §12.1)
    Page.set_src(page.element, url)
    page.run_until_settled()
    assert page.element.error["code"] == MEDIA_ERR_SRC_NOT_SUPPORTED
    assert page.media_source.ready_state == ReadyState.CLOSED


def test_terminating_the_worker_empties_buffered_and_seekable_and_keeps_element_state(segmented):
    from tests.media import SAMPLES

    out = segmented(SAMPLES / "aac-tone.m4a")
    page = attached_page(SPEC, "worker")
    buffer = page.media_source.add_source_buffer('audio/mp4; codecs="mp4a.40.2"')
    for name in ("audio/init.mp4", "audio/seg-00001.m4s"):
        buffer.append_buffer((out / name).read_bytes())
        page.run_until_settled()
    element = page.element
    assert element.buffered() and element.seekable()
    state = (element.ready_state, element.network_state, element.error)
    page.terminate_worker()
    assert not element.buffered() and not element.seekable()
    assert (element.ready_state, element.network_state, element.error) == state
