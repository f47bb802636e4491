"""crm_core: the domain code of the CRM automation, shipped to every function as one Lambda layer."""

__version__ = "0.1.0"
