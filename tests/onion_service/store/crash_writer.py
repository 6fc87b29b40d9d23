"""Child process for the crash tests: adds reports from several threads, forever, and prints each
id (hex) on its own line only after `add` has returned it. On StoreUnavailable the thread prints
UNAVAILABLE and stops; the process exits when every thread has stopped.

The reports take the server's path: this process forks a writer process (as the server's master
does) and adds through a store opened with it, as a worker does; the writer commits them.

usage: python crash_writer.py DATABASE_URL THREADS
"""

import datetime
import os
import sys
import threading

from onion_service.process.writer import Writer
from onion_service.store import StoreUnavailable, open_store


def main() -> None:
    open_store(sys.argv[1]).close()  # as server.run does: the table exists before the fork
    writer = Writer(sys.argv[1], answer_timeout=20)
    writer.start()  # while this process has no other thread
    store = open_store(sys.argv[1], writer=writer.client())
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
    store.close()
    writer.stop()


if __name__ == "__main__":
    main()
