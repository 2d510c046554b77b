"""skillsrv: route architecture questions through skill packs; scaffold and verify models."""

__version__ = "0.1.0"
