"""What sshjup keeps, and the one writer that keeps it.

Owns every byte sshjup stores: :mod:`~sshjup.store.paths` (where the app dir, the inventory
and ``state.json`` live), :mod:`~sshjup.store.fileio` (the one writer of user files: lock,
temp file beside the real one, fsync, mode and symlink kept, backup, rename),
:mod:`~sshjup.store.inventory` (the versioned YAML inventory, the one source of truth; the
only importer of yaml), :mod:`~sshjup.store.state` (machine-local facts such as PuTTY digests)
and :mod:`~sshjup.store.tokens` (Jupyter tokens and passwords in the OS keyring; the only
importer of keyring); :mod:`~sshjup.store.digest` (SHA-256 without loading OpenSSL).

May import: :mod:`sshjup.models`, :mod:`sshjup.errors`, the standard library, yaml and keyring.
Never imports click, subprocess or any other sshjup package.
"""
