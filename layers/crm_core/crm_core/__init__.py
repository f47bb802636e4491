"""crm_core: the domain code of the CRM automation, shipped to every function as one Lambda layer."""

from crm_core._version import __version__

__all__ = ["__version__"]
