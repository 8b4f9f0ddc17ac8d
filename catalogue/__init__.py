"""The responsibility catalogue (职责清单), owned by neither service: model, loading, validation, diff, versions,
binding of unit-bound departments, the catalogue event and the generated gazetteer. The router compiles and
decides with it, the tracker keeps its versions; it imports only `schemas` (import-linter checks that)."""
