"""Retrieval: give a zoo language model access to an external knowledge store.

- `passages`: corpus -> fixed token windows with overlap (the unit that is retrieved).
- `bm25`: the sparse lexical index (Okapi BM25) over those windows.
- `encoder` + `vector_index`: dense embeddings (mean-pooled encoder output) and exact
  (numpy) or approximate (faiss HNSW/IVF) nearest-neighbour search.
- `store`: both indexes and the passages in one folder, with tokenizer/model fingerprints.
- `knn_lm`: kNN-LM (Khandelwal et al. 2020), a datastore of (context hidden state -> next token).
- `rag`: retrieval-augmented generation and exact-match evaluation on `datasets/facts.jsonl`.
- `cli`: `zoo retrieve build | query | generate --retrieval | knn-lm`.

Example:
    >>> from zoo.retrieval.store import DocumentStore
    >>> store = DocumentStore.build(["The capital of Veltria is Orsk."], tokenizer)   # doctest: +SKIP
    >>> store.search("capital of Veltria", k=1)[0].text                              # doctest: +SKIP
    'The capital of Veltria is Orsk.'
"""
