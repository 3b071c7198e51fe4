"""Class taxonomies: Catalina SSS type codes, ASAS-SN classes, and the mapping between them.

Catalina (Drake et al. 2017) type codes are the training labels. ASAS-SN (Jayasinghe et al.
2019–2021, VizieR II/366) uses GCVS-style classes; :data:`ASASSN_TO_CATALINA` maps those that have
a Catalina counterpart, so that Catalina-trained models can be scored on ASAS-SN stars:

- semi-regular, irregular and Mira variables (SR, SRD, L, M, LSP) → LPV;
- beta Lyrae binaries (EB) → EW: their continuously varying light curves with unequal minima are
  what Catalina's EW class holds once periods are short; Drake et al. (2014) had no EB class;
- high-amplitude delta Scuti stars (HADS) → DSCT;
- type II Cepheids (CWA, CWB) → Cep-II;
- RRAB/RRC/RRD → RRab/RRc/RRd; EA, EW, ROT and DSCT keep their names.

A trailing ``:`` marks an uncertain ASAS-SN class; it maps like the certain class.
Classes without a counterpart (VAR, YSO, DCEP, GCAS, UG, RCB, ...) map to None.

**Families** (:data:`FAMILIES`) group classes the way astronomers first sort variables: RR Lyrae
(RR), Cepheids (CEP), eclipsing binaries (ECL), long-period variables (LPV), delta Scuti stars
(DSCT) and rotational variables (ROT). Every class of every survey read here has one, so surveys
with other class lists — and the Gaia set, which is labelled by family only — are compared at
family level. Classical Cepheids (ASAS-SN's DCEP) belong to the CEP family but have no Catalina
class: the models can only call them an anomalous or type II Cepheid, a known limit.

**Not a periodic variable** (:data:`NONPERIODIC`, class and family ``NONPER``): what most of a
survey's alert stream is — constant stars with noisy photometry, supernovae and other transients,
AGN and other stochastic variables, outbursts, flares, microlensing. Models trained with simulated
curves of these (``varstream.offline.nonperiodic``) carry it as one more class; its probability is
published as ``nonperiodic_probability``.
"""

from __future__ import annotations

import numpy as np

CATALINA_TYPES: dict[int, str] = {
    1: "RRab",
    2: "RRc",
    3: "RRd",
    4: "Blazhko",
    5: "EW",
    6: "EA",
    7: "ROT",
    8: "LPV",
    9: "DSCT",
    10: "ACEP",
    12: "Cep-II",
}
CATALINA_CLASSES: tuple[str, ...] = tuple(CATALINA_TYPES.values())

#: The class (and family) of curves that are not periodic variables.
NONPERIODIC = "NONPER"

ASASSN_TO_CATALINA: dict[str, str] = {
    "RRAB": "RRab",
    "RRC": "RRc",
    "RRD": "RRd",
    "EW": "EW",
    "EB": "EW",
    "EA": "EA",
    "ROT": "ROT",
    "SR": "LPV",
    "SRD": "LPV",
    "L": "LPV",
    "M": "LPV",
    "LSP": "LPV",
    "DSCT": "DSCT",
    "HADS": "DSCT",
    "CWA": "Cep-II",
    "CWB": "Cep-II",
}


def catalina_class(type_code: int | str) -> str:
    """Catalina class name of a numeric type code; ValueError for an unknown code."""
    code = int(type_code)
    try:
        return CATALINA_TYPES[code]
    except KeyError:
        raise ValueError(f"unknown Catalina type code {type_code!r}") from None


def model_class(label: str | None, classes: list[str] | tuple[str, ...]) -> str | None:
    """The class among ``classes`` (a model's) that a catalogue label of any survey read here means,
    or None: the label itself, else its ASAS-SN → Catalina mapping."""
    name = normalise_label(label)
    if name in classes:
        return name
    mapped = asassn_to_catalina(name)
    return mapped if mapped in classes else None


def normalise_label(label: str | None) -> str:
    """A catalogue class as the models see it: surrounding blanks and the uncertainty mark ``:``
    removed (``"SR: "`` → ``"SR"``); ``""`` for no label. Loaders apply it to every label they read."""
    return (label or "").strip().rstrip(":").strip()


def asassn_to_catalina(asassn_class: str | None) -> str | None:
    """The Catalina class of an ASAS-SN class (uncertainty ``:`` ignored), or None if none matches."""
    label = normalise_label(asassn_class)
    return ASASSN_TO_CATALINA.get(label.upper()) if label else None


#: Family of every class name used by the datasets read here (Catalina classes, ASAS-SN classes,
#: and the Gaia families themselves).
FAMILIES: dict[str, str] = {
    "RRab": "RR", "RRc": "RR", "RRd": "RR", "Blazhko": "RR", "RRAB": "RR", "RRC": "RR", "RRD": "RR", "RR": "RR",
    "ACEP": "CEP", "Cep-II": "CEP", "CWA": "CEP", "CWB": "CEP", "DCEP": "CEP", "DCEPS": "CEP", "RVA": "CEP",
    "CEP": "CEP",
    "EW": "ECL", "EA": "ECL", "EB": "ECL", "ECL": "ECL",
    "LPV": "LPV", "SR": "LPV", "SRD": "LPV", "L": "LPV", "M": "LPV", "LSP": "LPV",
    "DSCT": "DSCT", "HADS": "DSCT", "GDOR": "DSCT", "SXPHE": "DSCT",
    "ROT": "ROT",
    NONPERIODIC: NONPERIODIC,
}
FAMILY_NAMES: tuple[str, ...] = ("RR", "CEP", "ECL", "LPV", "DSCT", "ROT", NONPERIODIC)


def family_of(label: str | None) -> str | None:
    """The family (RR, CEP, ECL, LPV, DSCT, ROT, NONPER) of a class of any survey read here, or None."""
    name = normalise_label(label)
    return FAMILIES.get(name, FAMILIES.get(name.upper())) if name else None


def families_of(classes: list[str]) -> list[str]:
    """The families the classes belong to, in :data:`FAMILY_NAMES` order."""
    present = {family_of(c) for c in classes}
    return [f for f in FAMILY_NAMES if f in present]


def family_probability_table(probabilities: np.ndarray, classes: list[str], families: list[str]) -> np.ndarray:
    """Rows of class probabilities ``(n, len(classes))`` summed per family ``(n, len(families))``
    (classes without a family, or of a family not listed, are left out)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    out = np.zeros((probabilities.shape[0], len(families)))
    for j, c in enumerate(classes):
        fam = family_of(c)
        if fam in families:
            out[:, families.index(fam)] += probabilities[:, j]
    return out


def family_probabilities(classes: list[str], probabilities) -> dict[str, float]:
    """One row of class probabilities summed per family (classes without a family are left out)."""
    families = families_of(classes)
    row = family_probability_table(np.asarray(probabilities)[None, :], classes, families)[0]
    return {f: float(p) for f, p in zip(families, row)}


def nonperiodic_probability(classes: list[str], probabilities) -> float | None:
    """The probability of :data:`NONPERIODIC` in one row of class probabilities, or None when the
    classes have no such outcome (models trained without it)."""
    if NONPERIODIC not in classes:
        return None
    return float(np.asarray(probabilities)[list(classes).index(NONPERIODIC)])
