"""End-to-end encryption support: keys, cross-signing, device lists, to-device messages, backup.

The server relays and stores public keys, signatures and ciphertext; it holds nothing that can
decrypt a message."""
