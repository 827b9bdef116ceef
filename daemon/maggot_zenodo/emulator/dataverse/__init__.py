"""A local Dataverse (native API subset) for tests and demos: ``emulator --api dataverse``.

It behaves as ``DATAVERSE-API.md`` describes and imports nothing of the product.
"""
