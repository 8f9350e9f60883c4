"""The CRDs, generated from the runtime's pydantic models (the one schema source).

Rule: pure data transformation, no I/O; `parley_operator.crdgen` writes the files and a unit test
fails when the checked-in `crds/*.yaml` differ from what this package generates.
"""
