"""What keeps an account private on a shared machine: private file modes for everything avin
writes (:mod:`engine.security.private`), where the token comes from and where ``avin token set``
keeps it (:mod:`engine.security.token_source`), and the refusal of a token file others can read
(:mod:`engine.security.file_modes`). docs/security.md says what this protects and what it does not.
"""
