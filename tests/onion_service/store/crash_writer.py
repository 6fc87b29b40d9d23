"""Child process for the crash tests: adds reports from several threads, forever, and prints each
id (hex) on its own line only after `add` has returned it. On StoreUnavailable the thread prints
UNAVAILABLE and stops; the process exits when every thread has stopped.

usage: python crash_writer.py DATABASE_URL THREADS
"""

import datetime
import os
import sys
import threading

from onion_service.store import StoreUnavailable, open_store


def main() -> None:
    store = open_store(sys.argv[1])
    lock = threading.Lock()

    def write() -> None:
        while True:
            try:
                report_id = store.add(os.urandom(17_000), datetime.date(2026, 11, 22))
            except StoreUnavailable:
                with lock:
                    sys.stdout.write("UNAVAILABLE\n")
                    sys.stdout.flush()
                return
            with lock:
                sys.stdout.write(report_id.hex() + "\n")
                sys.stdout.flush()

    threads = [threading.Thread(target=write) for _ in range(int(sys.argv[2]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
