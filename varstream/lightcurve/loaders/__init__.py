"""Readers for survey data: Catalina SSS and ASAS-SN Sky Patrol, and the dataset directory layout."""

from varstream.lightcurve.loaders.dataset import Dataset, open_dataset, default_data_root

__all__ = ["Dataset", "open_dataset", "default_data_root"]
