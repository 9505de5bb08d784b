"""``python -m kleline``: the ``kleline`` command line without its console script, for a virtual environment whose
scripts are not on the path, and for ``python -X importtime -m kleline ...`` to see what a command imports."""

from kleline.cli import main

if __name__ == "__main__":
    main()
