"""The command-line entry point, ``python -m rlplastic.bench``: it hands training to ``rlplastic.run`` and the
``table``/``plot`` commands to ``rlplastic.report``."""
