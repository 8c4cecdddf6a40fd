"""dubflow's library: scripts in, checked voice assets out. No Airflow imports below this package."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dubflow")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
