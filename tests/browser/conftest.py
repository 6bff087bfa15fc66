"""Keep the browser flows of one site together."""

import pytest


def site_of(item):
    """The ``site`` parameter of a flow of tests/browser/test_flows.py (a
    test its ``flow`` decorator marked), or None."""
    if not getattr(getattr(item, "function", None), "flow", None):
        return None
    return item.callspec.params["site"]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Run the flows of one site (a series and a mode) one after the other,
    so that each site starts once: the tests get different lists of sites,
    which pytest's own ordering does not keep together. Sites in the order
    of the module's ``SITES``, the flows of each in the order the module
    defines them."""
    slots = [index for index, item in enumerate(items) if site_of(item)]
    if not slots:
        return
    flows = [items[index] for index in slots]
    sites = flows[0].module.SITES
    flows.sort(key=lambda item: (sites.index(site_of(item)), item.function.__code__.co_firstlineno))
    for index, item in zip(slots, flows):
        items[index] = item
