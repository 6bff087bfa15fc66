"""A counter for long jobs, shown only to a person at a terminal."""

import sys
import time


class Progress:
    """Call it with the count so far; it rewrites one ``\\r`` line at most
    every ``interval`` seconds, the first time once the job has lasted that
    long. Nothing is written when the stream is not a terminal: a log file
    or a pipe must stay clean. Use as a context manager to erase the line.
    """

    def __init__(self, label, stream=None, interval=0.5, clock=time.monotonic):
        self.label = label
        self.stream = sys.stdout if stream is None else stream
        self.enabled = self.stream.isatty()
        self.interval = interval
        self.clock = clock
        self.last = clock()
        self.width = 0

    def __call__(self, count):
        if not self.enabled:
            return
        now = self.clock()
        if now - self.last < self.interval:
            return
        self.last = now
        line = "%s: %d" % (self.label, count)
        self.stream.write("\r" + line.ljust(self.width))
        self.stream.flush()
        self.width = len(line)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
