"""The whole suite on two cores, as `make test` runs it: the browser tests (tests/test_browser.py, mostly real-time
playback in Chromium, the CPU idle) in one pytest process, everything else in another, side by side. The second's
report streams; the browser tests' follows when both are done. Exit status: the worse of the two. Arguments go to
both pytest runs."""

from __future__ import annotations

import subprocess
import sys
import tempfile

BROWSER_TESTS = "tests/test_browser.py"


def main(args: list[str]) -> int:
    pytest = [sys.executable, "-m", "pytest", "-q", *args]
    with tempfile.TemporaryFile("w+") as browser_log:
        # the browser run keeps out of the pytest cache, which the other run writes
        browser = subprocess.Popen([*pytest, "-p", "no:cacheprovider", BROWSER_TESTS], stdout=browser_log,
                                   stderr=subprocess.STDOUT)  # fmt: skip
        rest = subprocess.call([*pytest, f"--ignore={BROWSER_TESTS}"])
        browser_status = browser.wait()
        browser_log.seek(0)
        print(f"\n{BROWSER_TESTS}:", flush=True)
        sys.stdout.write(browser_log.read())
    return max(rest, browser_status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
