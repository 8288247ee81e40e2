"""Models to scores. The parts, from the unit to the run:

- `units`: completions and pairs, and the `Scorer` protocol; `options`: option dataclasses (the CLI is generated
  from them).
- `kinds`: the registry of scorer kinds. The families: `baselines` (length, random, a scores file), `rewards`
  (reward models, read by a `readouts` strategy), `policies` (logprob, dpo) and `judges` (a causal LM judge);
  `model_scorer` is their common base, `pairs` scores a pair in both orders.
- `known_models`: how each public reward model is read.
- `models` (loading), `encoding` (chat templates to token ids), `engine` (packed forward passes), `padded`
  (padded forward passes), `batching` (chunks and token budgets).
- `cache` (the score cache) and `runner` (a dataset's pairs to scores).
"""
