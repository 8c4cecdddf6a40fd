"""Upstream ``cosyvoice/utils/common.py::set_all_random_seed(seed)`` seeds random, numpy and torch (+cuda)."""

from __future__ import annotations

import random

import numpy as np

SEEDS: list[int] = []  # every seed set, for assertions


def set_all_random_seed(seed):
    SEEDS.append(seed)
    random.seed(seed)
    np.random.seed(seed)
