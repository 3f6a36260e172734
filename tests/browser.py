"""web.headless for the tests: a browser test is skipped, not failed, where no Chromium is installed."""
import pytest

from web import headless
from web.headless import StaticServer  # noqa: F401  (the tests' static server)


def chromium(*extra: str, **kwargs):
    try:
        return headless.chromium(*extra, **kwargs)
    except headless.MissingBrowser as e:
        pytest.skip(str(e))
