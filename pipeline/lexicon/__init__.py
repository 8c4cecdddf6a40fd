"""Per-project pronunciation lexicons: W3C PLS files and a simple YAML form (one module per format, the table in
:mod:`pipeline.lexicon.load`), applied to every line at plan time by :mod:`pipeline.lexicon.model`."""
