"""Datasets: building them from audio (build.py) and opening them (store.py).

Preprocessing (file -> codes) is the codec's (codec.py).
"""

from audiornn.dataset.build import (  # noqa: F401
    DataConfig,
    Item,
    build,
    build_from_sources,
    build_oneshots,
    build_pairs,
    collect_files,
    match_dirs,
    pair_item,
    split_items,
)
from audiornn.dataset.store import (  # noqa: F401
    FORMAT,
    FORMAT_VERSION,
    Dataset,
    Segment,
    open_dataset,
    read_meta,
)
