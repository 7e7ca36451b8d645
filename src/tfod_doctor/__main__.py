"""``python -m tfod_doctor`` runs the command line."""

from tfod_doctor.cli import main

main()
