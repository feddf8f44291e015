"""Run a per-document function over many documents, on one core or several, with a progress bar.

Cleaning and filtering are pure Python and spend their time in the
interpreter, so threads do not help; worker processes do. They are started
with "spawn" rather than "fork": the parent may already run TensorFlow's
threads, and forking a process with threads can deadlock. Results come back
in input order, so a run with 8 workers gives exactly the output of 1.

Example:
    >>> parallel_map(len, ["a", "bb", "ccc"], workers=1, progress=False)
    [1, 2, 3]
"""

import multiprocessing


def parallel_map(func, items, workers=1, desc="work", progress=True):
    """Return [func(item) for item in items], computed by `workers` processes when workers > 1.

    `func` must be picklable: a module-level function, or functools.partial of one.

    Example:
        >>> import functools
        >>> parallel_map(functools.partial(pow, 2), [1, 2, 3], workers=2, progress=False)
        [2, 4, 8]
    """
    from tqdm.auto import tqdm

    items = list(items)
    if workers is None or workers < 1:
        raise ValueError(f"workers must be 1 or more, got {workers}")
    bar = dict(total=len(items), desc=desc, unit="doc", disable=not progress)
    if workers == 1 or len(items) < 2:
        return [func(item) for item in tqdm(items, **bar)]
    # Chunks big enough to amortise pickling, small enough to keep every worker busy to the end.
    chunksize = max(1, min(64, len(items) // (workers * 8)))
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        return list(tqdm(pool.imap(func, items, chunksize=chunksize), **bar))
