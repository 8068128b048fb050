"""Datasets: building them from audio (build.py) and opening them (store.py).

Preprocessing (file -> codes) is the codec's (codec.py).
"""

from audiornn.data.build import (  # noqa: F401
    DataConfig,
    Item,
    build,
    collect_files,
    split_items,
)
from audiornn.data.store import (  # noqa: F401
    FORMAT,
    FORMAT_VERSION,
    Dataset,
    Segment,
    open_dataset,
    read_meta,
)
