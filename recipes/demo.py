"""The main job (the README's first command).

Until the LLM pretraining job lands, the demo trains the tutorial's CNN on the
built-in digits and reports its test accuracy; see README for every recipe.

Run:
    zoo demo        # or: make demo
"""

import sys


def main(argv=None, prog=None):
    from recipes import train_cnn

    print("zoo demo: training the tutorial's CNN on scikit-learn's digits (offline).")
    return train_cnn.main(argv, prog=prog or "zoo demo")


if __name__ == "__main__":
    sys.exit(main())
