"""The one way bulk work is cut into round trips."""

BATCH = 500


def batches(items, size=BATCH):
    """Lists of at most ``size`` items from any iterable, so that memory
    stays flat however many sessions or files there are."""
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
