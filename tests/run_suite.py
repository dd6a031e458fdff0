"""The whole suite on two cores, as `make test` runs it: the browser tests (tests/test_browser.py, mostly real-time
playback in Chromium, the CPU idle) in two pytest processes, each a shard of them (MSECLI_TEST_SHARD, see
tests/conftest.py), and everything else in a third, side by side. The third's report streams; the browser shards'
follow when all are done. Exit status: the worst of them. Arguments go to every pytest run."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

BROWSER_TESTS = "tests/test_browser.py"
BROWSER_SHARDS = 2


def main(args: list[str]) -> int:
    pytest = [sys.executable, "-m", "pytest", "-q", *args]
    logs = [tempfile.TemporaryFile("w+") for _ in range(BROWSER_SHARDS)]
    # the browser runs keep out of the pytest cache, which the other run writes
    browsers = [subprocess.Popen([*pytest, "-p", "no:cacheprovider", BROWSER_TESTS], stdout=log, stderr=subprocess.STDOUT,
                                 env=dict(os.environ, MSECLI_TEST_SHARD=f"{shard}/{BROWSER_SHARDS}"))
                for shard, log in enumerate(logs)]  # fmt: skip
    rest = subprocess.call([*pytest, f"--ignore={BROWSER_TESTS}"])
    statuses = [browser.wait() for browser in browsers]
    for shard, log in enumerate(logs):
        log.seek(0)
        print(f"\n{BROWSER_TESTS} (shard {shard + 1} of {BROWSER_SHARDS}):", flush=True)
        sys.stdout.write(log.read())
        log.close()
    return max(rest, *statuses)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
