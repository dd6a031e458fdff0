"""The whole suite on two cores, as `make test` runs it: the browser tests (tests/test_browser.py, mostly real-time
playback in Chromium, the CPU idle) in two pytest processes, each a shard of them (MSECLI_TEST_SHARD, see
tests/conftest.py), one from the start beside everything else, the other once everything else is done: never more
than two at once, as the browser's timing wants. The rest's report streams; the browser shards' follow when all are
done. Exit status: the worst of them. Arguments go to every pytest run."""

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

    def browser_shard(shard: int) -> subprocess.Popen:
        # the browser runs keep out of the pytest cache, which the other run writes
        return subprocess.Popen([*pytest, "-p", "no:cacheprovider", BROWSER_TESTS], stdout=logs[shard],
                                stderr=subprocess.STDOUT, env=dict(os.environ, MSECLI_TEST_SHARD=f"{shard}/{BROWSER_SHARDS}"))

    first = browser_shard(0)
    rest = subprocess.call([*pytest, f"--ignore={BROWSER_TESTS}"])
    others = [browser_shard(shard) for shard in range(1, BROWSER_SHARDS)]
    statuses = [first.wait()] + [other.wait() for other in others]
    for shard, log in enumerate(logs):
        log.seek(0)
        print(f"\n{BROWSER_TESTS} (shard {shard + 1} of {BROWSER_SHARDS}):", flush=True)
        sys.stdout.write(log.read())
        log.close()
    return max(rest, *statuses)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
