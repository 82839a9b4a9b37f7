"""`python -m sshjup` runs the command line."""

from __future__ import annotations

from sshjup.cli import main

if __name__ == "__main__":
    main()
