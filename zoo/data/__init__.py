"""Data: the built-in offline datasets and the text pipeline (acquire -> clean -> dedup -> tokenizer -> tf.data)."""
