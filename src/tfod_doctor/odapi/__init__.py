"""What the OD API (TF2) reads from a record and how it sees it, as data and small readers.

``features`` is the decoder's key table (spec §1), ``images`` reads image bytes the way TensorFlow
decodes them, ``record`` is one record as the decoder sees it, ``suggest`` finds near misses.
This layer sits beside the catalogue: it imports only :mod:`tfod_doctor.records`, so checks, fixes
and converters can all use it.
"""
