"""Reasoning modules: help a small LM solve multi-step tasks by writing steps or calling a tool.

The tutorial names two kinds of specialised module: retrieval (`zoo.retrieval`) and
reasoning. This package measures the reasoning kind on a task where it matters,
multi-digit arithmetic with exact answers, held-out cases longer than any seen in
training:

- `arithmetic`: the generated problems (addition; multiplication by one digit) and
  their three training targets: the answer directly, a scratchpad (chain of thought)
  of digit-by-digit steps with carries, and a calculator call.
- `char_tokenizer`: one token per character of the small alphabet the task uses.
- `calculator`: the tool runtime: the model writes `[12+345]`, generation pauses at
  `]`, the runtime computes and inserts `357`, generation resumes.
- `self_consistency`: sample several chains and take the majority answer (Wang et al. 2022).
- `solving`: decode a model's answers with each method and score exact match.
- `experiment`: train the same small causal LM on each format and build the table.

Example:
    >>> from zoo.reasoning.arithmetic import Problem, scratchpad_target
    >>> scratchpad_target(Problem(58, 67, "+"))
    '8+7+0=15;5+6+1=12;>125'
"""
