"""Pictures of what each technique does, drawn from zoo's own code (matplotlib, no screen needed).

One module per picture kind; each function draws one PNG at a small size (dpi 100):

- `attention`: which keys each query sees under every attention kind (full, sliding window,
  block-sparse, axial, LSH buckets), computed by running the kinds' own layers.
- `pipeline`: the GPipe schedule as a timeline with its bubble (zoo.parallel's simulated clock).
- `tokenizers`: how an English and a Japanese sentence split under each tokenizer kind.
- `funnel`: the data pipeline's report.json as a funnel (documents and bytes per stage, removal reasons).
- `block_diagram`: a transformer drawn from an LLMConfig, each part labelled with its config field.
- `memory`: `zoo explain`'s training-memory estimate as a bar chart.
- `run_pictures`: attention.png and memory.png that a pretraining run writes into its folder.
- `figures`: the shared parts (Agg backend, atomic PNG writes, a Japanese font).
- `cli`: `zoo pictures`, which regenerates every picture of the docs into docs/images/.

Example:
    >>> from zoo.pictures import PICTURES
    >>> sorted(PICTURES)[:2]
    ['attention_kinds', 'data_funnel']
"""

# The docs' pictures: file stem -> what it shows (`zoo pictures` draws them all).
PICTURES = {
    "attention_kinds": "which keys each query sees under each attention kind",
    "gpipe_timeline": "the GPipe schedule of 4 stages and 8 micro-batches, with its bubble",
    "tokenizer_splits": "an English and a Japanese sentence under each tokenizer kind",
    "data_funnel": "the data pipeline on the Japanese man pages: documents and bytes per stage, removal reasons",
    "transformer_block": "the GPT-2 small block with its config names",
    "memory_breakdown": "zoo explain's memory estimate of GPT-2 small (batch 8 x 1024 tokens)",
}
